/**
 * Globalnet with active-active gateways (issue 23), standalone lab, VXLAN: two clusters with kind's
 * CIDRs, two active gateways each. Every gateway of c1 leaves with its own egress address (its
 * slot's, declared in its Endpoint), so requests from a pod of c1 to c2's exported service, spread
 * over both gateways, reach the server from both addresses, and every reply finds the gateway
 * that translated its request. A gateway of c1 killed -9: its Endpoint goes, and once the client's
 * route agent has followed, new requests are served through the other. Needs root.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type Endpoint, GATEWAY_EGRESS_KEY, gatewaySlotOf, globalAddresses } from "@causeway/api";
import { endpointNodes, groupBuckets, Lab, until } from "@causeway/lab";
import { upConnected } from "../fixture.ts";
import { labCli, podGet } from "../discovery/pods.ts";

const root = process.getuid?.() === 0;
const NAME = "cwgaa";
const POD = "c1/n2/p0";
const REQUESTS = 32;

describe("globalnet with active-active gateways (standalone), vxlan cable", { skip: root ? false : "needs root", timeout: 600_000 }, () => {
  let lab: Lab;
  let webIp = "";
  before(async () => {
    lab = await upConnected({ name: NAME, clusters: 2, nodes: 3, gateways: 2, globalnet: true, gatewayMode: "active-active" }, 120_000);
    await lab.addService("c2/default/web", { pods: 2 });
    await labCli(NAME).exportFrom("web", "c2");
    webIp = await until(
      "web has a global IP",
      async () => {
        const admin = lab.admin();
        try {
          const r = (await admin.list("export")).records.find((x) => x.clusterId === "c2" && x.name === "default.web");
          return r ? (JSON.parse(r.valueJson) as { globalIp?: string }).globalIp : undefined;
        } finally {
          admin.close();
        }
      },
      20_000,
    );
  });
  after(async () => {
    if (process.env.CAUSEWAY_E2E_KEEP !== "1") await Lab.down(NAME);
  });

  /** c1's Endpoints at the broker: node → its slot and declared egress address. */
  async function c1Gateways(): Promise<Map<string, { slot: number | undefined; egress: string }>> {
    const admin = lab.admin();
    try {
      const eps = (await admin.list("endpoint")).records.filter((r) => r.clusterId === "c1").map((r) => JSON.parse(r.valueJson) as Endpoint);
      return new Map(eps.map((e) => [e.hostname, { slot: gatewaySlotOf(e), egress: e.backend_config[GATEWAY_EGRESS_KEY] ?? "" }] as const));
    } finally {
      admin.close();
    }
  }

  /** Who c2's server saw for each of `n` requests from POD to web's global IP (a new connection each). */
  async function clients(n: number): Promise<string[]> {
    const seen: string[] = [];
    for (let i = 0; i < n; i++) seen.push(await podGet(lab, POD, webIp, "/client"));
    return seen;
  }

  it(`each c1 gateway leaves with its slot's egress address; ${REQUESTS} requests to c2's service, spread over both, are all served, seen from both addresses`, async () => {
    const gws = await c1Gateways();
    const admin = lab.admin();
    const globalCidr = await admin
      .list("cluster")
      .then((r) => r.records.find((x) => x.clusterId === "c1")?.valueJson ?? "{}")
      .finally(() => admin.close());
    const egressIPs = globalAddresses((JSON.parse(globalCidr) as { global_cidr?: string[] }).global_cidr?.[0] ?? "")?.egressIPs ?? [];
    assert.equal(egressIPs.length, 8);
    assert.equal(gws.size, 2);
    for (const [node, g] of gws) assert.equal(g.egress, egressIPs[(g.slot ?? 0) - 1], `${node} in slot ${g.slot} declares ${g.egress}`);
    const seen = await clients(REQUESTS);
    const count = (ip: string) => seen.filter((s) => s === ip).length;
    console.log(`# globalnet active-active: ${REQUESTS} requests seen from ${[...gws].map(([n, g]) => `${g.egress} (${n}) ${count(g.egress)}`).join(", ")}`);
    assert.deepEqual([...new Set(seen)].sort(), [...gws.values()].map((g) => g.egress).sort(), JSON.stringify(seen));
  });

  it("a c1 gateway killed -9: its Endpoint goes; once the client's route agent has followed, every new request is served, through the other gateway's address", async () => {
    const gws = await c1Gateways();
    const victim = "n0";
    const survivor = gws.get("n1")?.egress ?? "";
    const p = lab.cluster("c1").processes.find((x) => x.role === `gateway/${victim}`);
    assert.ok(p);
    process.kill(p.pid, "SIGKILL");
    await until(`c1/${victim}'s Endpoint removed`, async () => ((await endpointNodes(lab, "c1")).includes(victim) ? undefined : true), 10_000);
    // The client's route agent follows the broker a moment later; until then a killed gateway's
    // kernel state (cables, translations) still serves what is hashed to it, from its own address.
    const node = POD.split("/").slice(0, 2).join("/");
    await until(`${node}'s route agent down to one gateway`, async () => ((await groupBuckets(lab, node))?.members.length === 1 ? true : undefined), 10_000);
    const seen = await clients(16);
    assert.deepEqual([...new Set(seen)], [survivor], JSON.stringify(seen));
    await lab.restart("c1", `gateway/${victim}`);
    await until("c1/n0 back", async () => ((await endpointNodes(lab, "c1")).length === 2 ? true : undefined), 20_000);
  });
});
