/**
 * The clusterset IP table against the real kernel, in a network namespace (root): a process of
 * the node connects to a clusterset IP (output hook) with two endpoints behind it. Without
 * session affinity its connections spread over both; with ClientIP affinity every connection
 * of one client goes to the same endpoint; a port with no endpoint and an address nothing
 * serves are refused at once (TCP reset); a pod (a namespace behind the node) that reaches its
 * own service by the clusterset IP and is chosen gets its own answer (hairpin); the deleted
 * table leaves nothing.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { NetnsRunner, ProcessRunner } from "../exec/index.ts";
import { type ClustersetNatSpec, NftClustersetNat } from "./clustersetnat.ts";

const root = process.getuid?.() === 0;
const IP = "243.0.0.7";

/** Runs in the namespace: two TCP servers answering their own address, then `n` connections to IP:80 (and :81, and .8:80); prints what each got. */
const CLIENT = `
const net = require("node:net");
const n = Number(process.argv[1]);
const servers = process.argv[2] ? process.argv[2].split(",") : ["10.9.0.1", "10.9.0.2"];
const serve = (host) => new Promise((r) => net.createServer((s) => s.end(host + "\\n")).listen(8080, host, r));
const get = (host, port) => new Promise((r) => {
  const s = net.connect({ host, port, timeout: 2000 });
  let got = "";
  s.on("data", (d) => (got += d));
  s.on("end", () => r(got.trim()));
  s.on("timeout", () => { s.destroy(); r("timeout"); });
  s.on("error", (e) => r(e.code));
});
(async () => {
  for (const h of servers) await serve(h);
  const out = [];
  for (let i = 0; i < n; i++) out.push(await get("${IP}", 80));
  console.log(JSON.stringify({ out, noEndpoint: await get("${IP}", 81), unserved: await get("243.0.0.8", 80) }));
  process.exit(0);
})();
`;

describe("clusterset IP table (real kernel, netns)", { skip: root ? false : "needs root (network namespaces)" }, () => {
  const base = new ProcessRunner(30_000);
  const ns = `cwtest-csnat-${process.pid}`;
  const podNs = `cwtest-csnat-${process.pid}-p`;
  const pod = new NetnsRunner(base, podNs);
  const run = new NetnsRunner(base, ns);
  const nat = new NftClustersetNat(run);
  const spec = (clientIpAffinity: boolean): ClustersetNatSpec => ({
    blocks: ["243.0.0.0/20"],
    services: [
      {
        key: "default/web",
        ip: IP,
        ...(clientIpAffinity ? { clientIpAffinity } : {}),
        ports: [
          {
            protocol: "TCP",
            port: 80,
            targets: [
              { ip: "10.9.0.1", port: 8080 },
              { ip: "10.9.0.2", port: 8080 },
            ],
          },
          { protocol: "TCP", port: 81, targets: [] },
        ],
      },
    ],
  });
  const connect = async (n: number) =>
    JSON.parse((await run.run(process.execPath, ["-e", CLIENT, String(n)])).stdout) as { out: string[]; noEndpoint: string; unserved: string };

  before(async () => {
    for (const n of [ns, podNs]) await base.run("ip", ["netns", "del", n], { allowFailure: true });
    for (const n of [ns, podNs]) await base.run("ip", ["netns", "add", n]);
    await run.run("ip", ["-batch", "-"], {
      input: [
        "link set lo up",
        "link add cs0 type veth peer name cs1",
        "link set cs1 up",
        "link set cs0 up",
        "addr add 10.9.0.1/24 dev cs0",
        "addr add 10.9.0.2/24 dev cs0",
        "route add 243.0.0.0/20 dev cs0",
      ].join("\n"),
    });
  });
  after(async () => {
    for (const n of [ns, podNs]) await base.run("ip", ["netns", "del", n], { allowFailure: true });
  });

  it("no affinity: 40 connections reach both endpoints; a port without endpoints and an unserved address are reset", async () => {
    await nat.apply(spec(false));
    const r = await connect(40);
    assert.deepEqual([...new Set(r.out)].sort(), ["10.9.0.1", "10.9.0.2"]);
    assert.equal(r.noEndpoint, "ECONNREFUSED");
    assert.equal(r.unserved, "ECONNREFUSED");
  });

  it("ClientIP affinity: all 20 connections of one client reach the same endpoint", async () => {
    await nat.apply(spec(true));
    const r = await connect(20);
    assert.equal(r.out.length, 20);
    assert.equal(new Set(r.out).size, 1, r.out.join(" "));
    assert.match(r.out[0] ?? "", /^10\.9\.0\.[12]$/);
  });

  it("hairpin: a pod chosen as the endpoint of its own service's clusterset IP gets its own answer", async () => {
    await run.run("ip", ["-batch", "-"], {
      input: ["link add pod0 type veth peer name eth0 netns " + podNs, "addr add 10.9.1.1/24 dev pod0", "link set pod0 up"].join("\n"),
    });
    await pod.run("ip", ["-batch", "-"], {
      input: ["link set lo up", "addr add 10.9.1.2/24 dev eth0", "link set eth0 up", "route add default via 10.9.1.1"].join("\n"),
    });
    await run.run("sysctl", ["-qw", "net.ipv4.ip_forward=1"]);
    await nat.apply({
      blocks: ["243.0.0.0/20"],
      services: [{ key: "default/self", ip: IP, ports: [{ protocol: "TCP", port: 80, targets: [{ ip: "10.9.1.2", port: 8080 }] }] }],
    });
    const r = JSON.parse((await pod.run(process.execPath, ["-e", CLIENT, "3", "10.9.1.2"])).stdout) as { out: string[] };
    assert.deepEqual(r.out, ["10.9.1.2", "10.9.1.2", "10.9.1.2"]);
  });

  it("deleted: no table left, and observe says so", async () => {
    await nat.apply(undefined);
    assert.equal(await nat.observe(), undefined);
    const tables = await run.run("nft", ["list", "tables"]);
    assert.doesNotMatch(tables.stdout, /causeway-clusterset/);
  });
});
