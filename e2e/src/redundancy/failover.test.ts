/**
 * Lab e2e, gateway redundancy (standalone mode): 2 clusters × 3 nodes, n0 and n1 gateway
 * candidates. For each failure kind of the active gateway — kill -9, its node's underlay link
 * cut, a graceful stop — the standby becomes active, the broker's statuses say so, UDP probes
 * between pods on non-gateway nodes resume both ways; then the old gateway comes back passive
 * without disturbing traffic. With the VXLAN and the WireGuard cable. Needs root.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { host } from "@causeway/common";
import { activeGateway, FAILURE_KINDS, failGateway, haStatuses, Lab, Probes, recoverGateway, until, waitFailover } from "../index.ts";

const root = process.getuid?.() === 0;
const PAIRS = [
  ["c1/n2/p0", "c2/n2/p0"],
  ["c2/n2/p0", "c1/n2/p0"],
] as const;
/** Loose bounds for a shared CI machine; bench:failover measures the real figures. */
const MAX_OUTAGE_MS = 5000;
const MAX_RECOVERY_DISTURBANCE_MS = 1500;

for (const cable of ["vxlan", "wireguard"] as const) {
  const ready = root && (cable === "vxlan" || (host.onPath("wg") && host.onPath("wireguard-go")));
  describe(`lab redundancy: gateway failover, ${cable} cable`, { skip: ready ? false : "needs root (and wg + wireguard-go for WireGuard)" }, () => {
    const NAME = cable === "vxlan" ? "cwhav" : "cwhaw";
    let lab: Lab;
    before(async () => {
      await Lab.down(NAME);
      lab = await Lab.up({ name: NAME, clusters: 2, nodes: 3, gateways: 2, cable });
      await lab.waitConnected(60_000);
    });
    after(async () => {
      await Lab.down(NAME);
    });

    it("one active gateway per cluster, the other candidate passive", async () => {
      for (const c of ["c1", "c2"]) {
        const active = await activeGateway(lab, c);
        assert.ok(["n0", "n1"].includes(active), `${c} active: ${active}`);
        const st = await until(`${c} statuses`, async () => {
          const s = await haStatuses(lab, c);
          return s.n0 && s.n1 ? s : undefined;
        });
        assert.equal(st[active], "active");
        assert.equal(st[active === "n0" ? "n1" : "n0"], "passive");
      }
    });

    for (const kind of FAILURE_KINDS) {
      it(`${kind}: the standby takes over, traffic resumes both ways; the old gateway returns passive without disturbing traffic`, async () => {
        const was = await activeGateway(lab, "c1");
        const probes = new Probes(lab, PAIRS);
        await new Promise((r) => setTimeout(r, 1000));
        await failGateway(lab, "c1", was, kind);
        const now = await waitFailover(lab, "c1", was);
        await until("c1 statuses say so", async () => ((await haStatuses(lab, "c1"))[now] === "active" ? true : undefined), 10_000);
        await lab.waitConnected(15_000);
        await new Promise((r) => setTimeout(r, 2000));
        const failed = await probes.stop();
        for (const [dir, r] of Object.entries(failed)) {
          assert.ok(r.answered > 0 && r.lostAtEnd === 0, `${kind} ${dir}: traffic did not resume: ${JSON.stringify(r)}`);
          assert.ok(r.maxOutageMs <= MAX_OUTAGE_MS, `${kind} ${dir}: outage ${r.maxOutageMs} ms`);
        }
        console.log(
          `# ${cable} ${kind}: ${was} → ${now}, outage ${Object.entries(failed)
            .map(([d, r]) => `${d} ${r.maxOutageMs} ms`)
            .join(", ")}`,
        );

        const calm = new Probes(lab, PAIRS);
        await new Promise((r) => setTimeout(r, 500));
        await recoverGateway(lab, "c1", was, kind);
        await until(`${was} passive again`, async () => ((await haStatuses(lab, "c1"))[was] === "passive" ? true : undefined), 15_000);
        await new Promise((r) => setTimeout(r, 2000));
        const back = await calm.stop();
        assert.equal(await activeGateway(lab, "c1"), now, "the returning gateway does not take over");
        for (const [dir, r] of Object.entries(back)) {
          assert.ok(r.lostAtEnd === 0 && r.maxOutageMs <= MAX_RECOVERY_DISTURBANCE_MS, `${kind} recovery ${dir}: ${JSON.stringify(r)}`);
        }
      });
    }
  });
}
