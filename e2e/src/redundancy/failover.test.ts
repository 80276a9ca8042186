/**
 * Lab e2e, gateway redundancy (standalone mode): 2 clusters × 3 nodes, n0 and n1 gateway
 * candidates. For each failure kind of the active gateway — kill -9, its node's underlay link
 * cut, a graceful stop — the standby becomes active, the broker's statuses say so, UDP probes
 * between pods on non-gateway nodes resume both ways; then the old gateway comes back passive
 * disturbing traffic for at most 1.5 s. With the VXLAN and the WireGuard cable. Needs root.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { host, STANDALONE_LEASE } from "@causeway/common";
import {
  activeGateway,
  assertResumed,
  OUTAGE_BOUND_MS,
  cableRoutes,
  FAILURE_KINDS,
  failGateway,
  haStatuses,
  Lab,
  partitionFromBroker,
  Probes,
  outageLogs,
  recoverGateway,
  until,
  waitFailover,
} from "@causeway/lab";

const root = process.getuid?.() === 0;
const PAIRS = [
  ["c1/n2/p0", "c2/n2/p0"],
  ["c2/n2/p0", "c1/n2/p0"],
] as const;
const MAX_RECOVERY_DISTURBANCE_MS = 1500;
/** The gateway candidates whose logs a failed bound prints. */
const GATEWAY_NODES = ["c1/n0", "c1/n1", "c2/n0", "c2/n1"];

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
      it(`${kind}: the standby takes over, traffic resumes both ways within ${OUTAGE_BOUND_MS[kind]} ms; the old gateway returns passive, traffic disturbed for at most ${MAX_RECOVERY_DISTURBANCE_MS} ms`, async () => {
        const was = await activeGateway(lab, "c1");
        const probes = new Probes(lab, PAIRS);
        let now = "";
        let failed = false;
        try {
          await probes.answering();
          await new Promise((r) => setTimeout(r, 1000));
          failed = true;
          await failGateway(lab, "c1", was, kind);
          now = await waitFailover(lab, "c1", was);
          await until("c1 statuses say so", async () => ((await haStatuses(lab, "c1"))[now] === "active" ? true : undefined), 10_000);
          await lab.waitConnected(15_000);
          await new Promise((r) => setTimeout(r, 2000));
          const results = await probes.stop();
          let outages: string;
          try {
            outages = assertResumed(results, kind, OUTAGE_BOUND_MS[kind]);
          } catch (err) {
            console.log(`# ${cable} ${kind}: the gateways' logs around the outages\n${outageLogs(lab, results, GATEWAY_NODES)}`.replace(/\n/g, "\n#   "));
            throw err;
          }
          console.log(`# ${cable} ${kind}: ${was} → ${now}, outage ${outages}`);
        } catch (err) {
          // Whatever this test found, the next one starts from two working candidates (a link left down failed every later test in a CI run).
          await probes.stop();
          if (failed) {
            await recoverGateway(lab, "c1", was, kind);
            await lab.waitConnected(30_000).catch(() => undefined);
          }
          throw err;
        }

        const calm = new Probes(lab, PAIRS);
        await calm.answering();
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

    it("split brain: the active gateway cut off from the broker alone keeps its cables while the standby takes over; healed, the two converge to one within one lease period, no duplicate routes", async () => {
      const was = await activeGateway(lab, "c1");
      const other = was === "n0" ? "n1" : "n0";
      const probes = new Probes(lab, PAIRS);
      await probes.answering();
      await new Promise((r) => setTimeout(r, 500));
      await partitionFromBroker(lab, "c1", was, true);
      let healedAt = 0;
      try {
        assert.equal(await waitFailover(lab, "c1", was), other);
        // Both now carry cables: the cut-off one cannot learn it was replaced (it keeps its data path, as in a broker outage).
        await until(`${other} carries cables`, async () => ((await cableRoutes(lab, `c1/${other}`)).length ? true : undefined), 10_000);
        assert.ok((await cableRoutes(lab, `c1/${was}`)).length > 0, `${was} keeps its cables while cut off`);
      } finally {
        await partitionFromBroker(lab, "c1", was, false);
        healedAt = performance.now();
      }
      await until(`${was} drops its cables`, async () => ((await cableRoutes(lab, `c1/${was}`)).length === 0 ? true : undefined), 10_000);
      const convergedMs = performance.now() - healedAt;
      console.log(`# ${cable} split brain: converged ${Math.round(convergedMs)} ms after the partition healed`);
      // One lease period, plus this test's polling and a loaded CI machine's scheduling.
      assert.ok(convergedMs <= STANDALONE_LEASE.leaseDurationMs + 1000, `converged after ${Math.round(convergedMs)} ms`);
      await until(`${was} passive`, async () => ((await haStatuses(lab, "c1"))[was] === "passive" ? true : undefined), 10_000);
      assert.equal(await activeGateway(lab, "c1"), other);
      // No duplicates anywhere: c1's subnets once in c2's gateway's cable table, c2's once in c1's.
      const c2gw = await activeGateway(lab, "c2");
      for (const [target, remoteSubnets] of [
        [`c2/${c2gw}`, ["10.1.0.0/16", "10.101.0.0/16"]],
        [`c1/${other}`, ["10.2.0.0/16", "10.102.0.0/16"]],
      ] as const) {
        const routes = await cableRoutes(lab, target);
        for (const s of remoteSubnets) assert.equal(routes.filter((r) => r.startsWith(`${s} `)).length, 1, `${target}: ${routes.join("; ")}`);
      }
      await lab.waitConnected(15_000);
      await new Promise((r) => setTimeout(r, 1500));
      const r = await probes.stop();
      for (const [dir, x] of Object.entries(r)) assert.ok(x.answered > 0 && x.lostAtEnd === 0, `split brain ${dir}: ${JSON.stringify(x)}`);
    });
  });
}
