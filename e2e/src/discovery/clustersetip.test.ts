/**
 * Lab e2e, clusterset IPs (standalone mode): a ClusterSetIP service exported by two clusters
 * gets one clusterset IP from the oldest exporter's block, every exporter carries the same, and
 * the route agents translate it on every node — a pod (prerouting) and a node's own process
 * (output) reach the local cluster's endpoints first, the pod the other cluster's when the local
 * ones are gone, both the local ones again when they are back; unexported, the address is released and
 * refused at once. Needs root.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type ServiceExport } from "@causeway/api";
import { Lab, REPO_ROOT, stopProcess, until } from "@causeway/lab";
import { upConnected } from "../fixture.ts";
import { labCli, podDig, podGet, podQuery } from "./pods.ts";

const root = process.getuid?.() === 0;
const NAME = "cwcs";
const POD = "c1/n1/p0";
const NODE = "c1/n0";
const NAME_AA = "aa.default.svc.clusterset.local";

describe("lab clusterset IPs: allocated once, translated on every node, local first, released on unexport", { skip: root ? false : "needs root" }, () => {
  let lab: Lab;
  const { cli, exportFrom } = labCli(NAME);
  /** Every cluster's export of `name` at the broker, by cluster. */
  const exportsOf = async (name: string): Promise<Map<string, ServiceExport>> => {
    const admin = lab.admin();
    try {
      const { records } = await admin.list("export");
      return new Map(records.filter((r) => r.name === `default.${name}`).map((r) => [r.clusterId, JSON.parse(r.valueJson) as ServiceExport]));
    } finally {
      admin.close();
    }
  };
  const blockOf = async (cluster: string): Promise<string | undefined> => {
    const admin = lab.admin();
    try {
      const r = (await admin.list("cluster")).records.find((x) => x.clusterId === cluster);
      return r ? (JSON.parse(r.valueJson) as { clusterset_ip_cidr?: string[] }).clusterset_ip_cidr?.[0] : undefined;
    } finally {
      admin.close();
    }
  };
  before(async () => {
    lab = await upConnected({ name: NAME, clusters: 2, nodes: 2 });
  });
  after(async () => {
    await Lab.down(NAME);
  });

  it("each cluster has its own block; the first exporter allocates from its block, the second adopts the address", async () => {
    const [b1, b2] = [await blockOf("c1"), await blockOf("c2")];
    assert.ok(b1 && b2 && b1 !== b2, `${b1} ${b2}`);
    await lab.addService("c1/default/aa", { pods: 1 });
    await lab.addService("c2/default/aa", { pods: 1 });
    await exportFrom("aa", "c1");
    const ip = await until("c1's export has a clusterset IP", async () => (await exportsOf("aa")).get("c1")?.clustersetIp, 10_000);
    assert.ok(ip.startsWith(b1.split(".").slice(0, 2).join(".")), `${ip} from ${b1}`);
    await exportFrom("aa", "c2");
    assert.equal(await until("c2 adopts it", async () => (await exportsOf("aa")).get("c2")?.clustersetIp, 10_000), ip);
  });

  // A node's own processes reach the local endpoints; like a remote pod IP, a remote endpoint is
  // reached from pods only (host-network sources are not carried across the clusterset).
  it("a pod and the node itself reach the local endpoints by the clusterset IP; local gone → the pod reaches the other cluster's; back → local", async () => {
    const ip = (await exportsOf("aa")).get("c1")?.clustersetIp ?? "";
    const from = async (who: string) =>
      who === NODE
        ? ((JSON.parse((await lab.exec(NODE, [process.execPath, join(REPO_ROOT, "lab/src/tools/get.ts"), "--host", ip])).stdout) as { body?: string }).body ??
          "")
        : podGet(lab, who, ip);
    for (const who of [POD, NODE])
      assert.equal(await until(`${who} reaches c1's aa at ${ip}`, async () => ((await from(who)) === "c1/aa-0" ? true : undefined), 10_000), true);
    // By name: lighthouse answers the clusterset IP (its default), from either cluster.
    for (const client of [POD, "c2/n1/p0"])
      assert.deepEqual(await until(`${client} resolves aa`, async () => ((await podDig(lab, client, NAME_AA))[0] === ip ? [ip] : undefined), 10_000), [ip]);
    assert.equal(await podGet(lab, POD, NAME_AA), "c1/aa-0");
    assert.deepEqual(await podQuery(lab, POD, ip, "PTR"), [NAME_AA], "PTR of the clusterset IP through the pod's resolver");
    const pod = lab.cluster("c1").processes.find((p) => p.role === "svc/default/aa-0");
    assert.ok(pod);
    await stopProcess(pod.pid);
    const t0 = performance.now();
    await until("c1's pod reaches c2's aa at the same address", async () => ((await from(POD)) === "c2/aa-0" ? true : undefined), 15_000);
    console.log(`# clusterset IP: c1's clients reached c2's aa ${Math.round(performance.now() - t0)} ms after c1's pod stopped`);
    await lab.restart("c1", "svc/default/aa-0");
    for (const who of [POD, NODE]) await until(`${who} back to c1`, async () => ((await from(who)) === "c1/aa-0" ? true : undefined), 15_000);
  });

  it("unexported everywhere: the address is released and refused at once (no wait for a timeout), the name NXDOMAIN within 1 s", async () => {
    const ip = (await exportsOf("aa")).get("c1")?.clustersetIp ?? "";
    for (const c of ["c1", "c2"]) assert.equal((await cli(["unexport", "service", "aa", "-n", "default", "--context", c])).exitCode, 0);
    const t0 = performance.now();
    const err = await until(
      "refused",
      async () => {
        const got = await podGet(lab, POD, ip);
        return got.startsWith("error ") ? got : undefined;
      },
      10_000,
    );
    console.log(`# clusterset IP: ${ip} refused ${Math.round(performance.now() - t0)} ms after the last unexport (${err})`);
    assert.equal(err, "error ECONNREFUSED", "a TCP reset from the node's table, not a timeout");
    const gone = await until(
      "NXDOMAIN",
      async () => ((await podDig(lab, POD, NAME_AA)) === "ENOTFOUND" ? Math.round(performance.now() - t0) : undefined),
      10_000,
    );
    console.log(`# clusterset IP: ${NAME_AA} NXDOMAIN ${gone} ms after the last unexport`);
    assert.ok(gone <= 1000, `NXDOMAIN within 1 s of the unexport, took ${gone} ms`);
    assert.equal((await exportsOf("aa")).size, 0);
  });
});
