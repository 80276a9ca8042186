/**
 * Lab e2e on the real kernel, route agents in intraCluster "direct" mode: non-gateway nodes
 * reach their gateway by plain routes, with no vx-causeway. Needs root; skipped otherwise.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { assertPodReaches, tcpFrom } from "./checks.ts";
import { Lab } from "@causeway/lab";

const root = process.getuid?.() === 0;
const NAME = "cwe2d";

describe("dataplane: 2 clusters × 2 nodes, intraCluster direct", { skip: root ? false : "needs root for network namespaces" }, () => {
  let lab: Lab;
  before(async () => {
    await Lab.down(NAME);
    lab = await Lab.up({ name: NAME, clusters: 2, nodes: 2, intraCluster: "direct" });
    await lab.waitConnected(60_000);
  });
  after(async () => {
    await Lab.down(NAME);
  });

  const tcp = (from: string, host: string, port = 8080, extra: readonly string[] = []) => tcpFrom(lab, from, host, port, extra);

  for (const [from, to] of [
    ["c1/n1/p0", "c2/n1/p0"],
    ["c2/n1/p0", "c1/n1/p0"],
  ] as const) {
    it(`ICMP and TCP ${from} → ${to}, source preserved`, async () => {
      await assertPodReaches(lab, from, to);
    });
  }

  it("non-gateway nodes route via the gateway's node IP; no vx-causeway on any node", async () => {
    for (const c of ["c1", "c2"]) {
      const gw = lab.resolve(`${c}/n0`);
      const routes = (await lab.exec(`${c}/n1`, ["ip", "route", "show", "table", "150"])).stdout;
      assert.match(routes, new RegExp(`via ${gw.ip.replaceAll(".", "\\.")} dev eth0`));
      for (const n of ["n0", "n1"]) {
        const links = (await lab.exec(`${c}/${n}`, ["ip", "-o", "link", "show"])).stdout;
        assert.ok(!links.includes("vx-causeway"), `${c}/${n} has no vx-causeway`);
      }
    }
  });

  it("pod → service VIP of the other cluster, source preserved", async () => {
    const r = await tcp("c1/n1/p0", "10.102.0.10", 80);
    assert.equal(r.exitCode, 0, r.stdout);
    assert.match(r.stdout, /sees 10\.1\.1\.10:/);
  });
});
