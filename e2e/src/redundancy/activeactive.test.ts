/**
 * Lab e2e, active-active gateways (issue 23). Standalone mode, VXLAN and WireGuard cables: 2
 * clusters × 4 nodes, n0–n2 gateway nodes, n3 a plain node; n2's gateways stopped at first, so
 * each cluster starts with two active gateways. On real Kubernetes nodes (join --gateway-mode
 * active-active): 2 clusters × 3 nodes, n0 and n1 gateway nodes. Shows: 16 TCP flows between the
 * plain nodes' pods spread over both local and both remote gateways; a gateway killed -9, stopped
 * (its pod deleted), or its underlay link cut (standalone c1's, real nodes c2's) during 16 long
 * flows resets none, probes on the surviving gateway lose nothing and the moved ones' outage is
 * within its bound (kill -9: 1 s); the failed gateway returns and carries new flows; a gateway
 * started on n2 (standalone), or a gateway node unlabelled and labelled again (real nodes),
 * carries flows with nothing else restarted. Needs root.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type Endpoint, gatewaySlotOf, SYSTEM_NAMESPACE } from "@causeway/api";
import { host, kube, METRICS_PORTS, view } from "@causeway/common";
import { VXLAN_CABLE, WG_CABLE } from "@causeway/gateway";
import {
  FAILURE_KINDS,
  type FailureKind,
  failGateway,
  flowGateway,
  endpointNodes,
  groupBuckets,
  gatewayConnections,
  Lab,
  logsAround,
  missingPairs,
  podPids,
  type ProbeResult,
  Probes,
  recoverGateway,
  runningGateways,
  tcpFlows,
  until,
  KUBE_WG_DEVICE,
  VXLAN_CABLE_DEVICE,
} from "@causeway/lab";
import { upConnected } from "../fixture.ts";
import { ends, FLOW_MBIT, flowsInMetrics, groupOf, httpIn, spread, shown } from "./aaspread.ts";

const root = process.getuid?.() === 0;
/** A gateway carries "some" of the flows: at least this share of the cluster's cable bytes. */
const MIN_SHARE = 0.05;
/**
 * The longest outage of the flows a failed gateway carried, per failure kind (kill -9: issue 23's
 * 1 s). A cut link: the lease's expiry (1 s), a round of the stale-Endpoint check (0.2 s), then
 * every hop's reconcile (WireGuard's the slowest) — README, Active-active gateways.
 */
const MOVED_OUTAGE_BOUND_MS = { kill: 1000, stop: 1000, link: 2500 } as const satisfies Record<FailureKind, number>;
const PROBE_PORTS = Array.from({ length: 12 }, (_, i) => 41001 + i);
/**
 * The same with WireGuard cables (userspace wireguard-go on this 2-core machine): at 16 × 20
 * Mbit/s, a surviving gateway lost packets now and then after a failure — standalone in CI runs
 * (60 ms in a preview, the moment the broker answered the survivor's lease renewal too late: the
 * machine stalled) and on real nodes, where wireguard-go runs in BestEffort pods and 16 flows over
 * both gateways moved only 0.10–0.36 Gbit/s, 40–200 ms as a failed gateway's flows arrived. At
 * 16 × 4 Mbit/s a stall of the machine queues less than the sockets hold.
 */
const WG_FLOW_MBIT = 4;
/**
 * Why the failure rounds (16 long flows and probes) do not run by default on real nodes with
 * WireGuard cables (CAUSEWAY_E2E_WG_ROUNDS=1 runs them): the failover itself holds — a kill -9
 * moved flows out 0 ms in 8 of 8 runs, and since passes stopped waiting on status writes and
 * per-table iptables-save a cut link moved them in 1.67–1.78 s (was 3.9 s) — but the probes on
 * the surviving gateway lose packets here without any failure too: 40–530 ms at a time, before the
 * failure as after it, in 2 of 2 runs on this 2-core machine (userspace wireguard-go in the
 * gateway pods of 6 nodes, beside 2 API servers), and a round cannot tell those from losses the
 * failure caused. The keeper keeping the devices through a kill is shown below, without the flows' load.
 */
const KUBE_WG_ROUNDS_NOT_YET =
  "WireGuard on real nodes: the surviving gateway's probes lose packets under 16 flows without a failure too (see KUBE_WG_ROUNDS_NOT_YET; CAUSEWAY_E2E_WG_ROUNDS=1 runs them)";

/** Probes on the surviving gateway lost packets before the failure: the lab dropped them on its own, so the round says nothing about the failure. */
class LossyBaseline extends Error {}
/**
 * The probes did not land on both gateways (seen in CI runs only: every probe on one gateway
 * although the client's group held both, 64/64): the round cannot tell survivors from moved flows.
 * What the client's node and the gateways held is printed; the round runs again on other ports.
 */
class NotSpread extends Error {}

/** What decides the client's path: its node's next hops, group buckets, routes and hash policy; each gateway's conntrack entries of the probes. */
async function spreadState(lab: Lab, ports: readonly number[], gateways: readonly string[]): Promise<string> {
  const { client, server } = ends(lab);
  const node = client.split("/").slice(0, 2).join("/");
  const dst = lab.resolve(server).ip;
  const out: string[] = [];
  const run = async (target: string, argv: string[]) => {
    const r = await lab.exec(target, argv);
    out.push(`${target}$ ${argv.join(" ")}\n${(r.stdout + r.stderr).trim()}`);
  };
  await run(node, ["ip", "-d", "nexthop", "show"]);
  const g = await groupBuckets(lab, node);
  out.push(`${node} buckets: ${g ? [...g.counts].map(([id, n]) => `${id}:${n}`).join(" ") : "none"}`);
  await run(node, ["ip", "route", "show", "table", "all", "match", dst]);
  await run(node, ["ip", "rule", "show"]);
  await run(node, ["sysctl", "net.ipv4.fib_multipath_hash_policy"]);
  // How the node reaches each gateway's VTEP (ARP over vx-causeway, then the FDB), and the probes' connection marks (pinned to a gateway by its replies).
  await run(node, ["ip", "neigh", "show", "dev", "vx-causeway"]);
  await run(node, ["bridge", "fdb", "show", "dev", "vx-causeway"]);
  for (const gw of [node, ...gateways]) {
    const r = await lab.exec(gw, ["conntrack", "-L", "-p", "udp", "--orig-dst", dst]);
    const lines = r.stdout.split("\n").filter((l) => ports.some((p) => l.includes(`sport=${p} `)));
    out.push(`${gw}: ${lines.length} conntrack entries of the probes\n${lines.join("\n")}`);
  }
  return out.join("\n");
}

/**
 * Before a round's losses are reported: what the gateways (and the client's route agent) logged
 * around them, for CI's record. `probes`: each probe's result and whether it was on the failed gateway.
 */
function printLossLogs(lab: Lab, probes: readonly { r: ProbeResult | undefined; moved: boolean }[], movedBoundMs: number, failedAtWall: number): void {
  const lossy = probes.filter(({ r, moved }) => !r || r.lostAtEnd > 0 || (moved ? r.maxOutageMs > movedBoundMs : r.sent - r.answered > 0));
  const spans = lossy.flatMap(({ r }) => (r ? r.outages.map((x) => [x.fromMs + r.originMs, x.fromMs + r.originMs + x.ms] as const) : []));
  if (!spans.length) return;
  const from = Math.min(...spans.map(([a]) => a)) - 1500;
  const to = Math.max(...spans.map(([, b]) => b)) + 500;
  const clientNode = ends(lab).client.split("/").slice(0, 2).join("/");
  const logs = `${logsAround(lab, ["c1/n0", "c1/n1", "c2/n0", "c2/n1"], "gateway", from, to)}\n${logsAround(lab, [clientNode], "route-agent", from, to)}`;
  console.log(
    `# losses at ${spans.map(([a, b]) => `+${a - failedAtWall}..+${b - failedAtWall} ms`).join(", ")} after the failure; the logs around them:\n${logs}`.replace(
      /\n/g,
      "\n#   ",
    ),
  );
}

/**
 * A failure round (failDuringFlows), run again once on fresh ports when its probes on the
 * surviving gateway lost packets before the failure was injected (the lab machine dropping
 * packets on its own, seen in CI runs); a second such round fails. Losses after the failure are
 * never forgiven.
 */
async function failureRound(lab: Lab, o: Parameters<typeof failDuringFlows>[1]): Promise<void> {
  try {
    await failDuringFlows(lab, o);
  } catch (err) {
    if (!(err instanceof LossyBaseline || err instanceof NotSpread)) throw err;
    console.log(`# ${o.label} ${o.kind}: ${err.message}; the round runs again on other ports`);
    await failDuringFlows(lab, { ...o, k: o.k + 5, retry: true });
  }
}

/** The moved probes' bound of a round: its own, or its failure kind's. */
const flowMbitOf = (o: { flowMbit?: number }): number => o.flowMbit ?? FLOW_MBIT;
const movedBoundOf = (o: { kind: FailureKind; movedBoundMs?: number }): number => o.movedBoundMs ?? MOVED_OUTAGE_BOUND_MS[o.kind];

/**
 * One failure round: probes on 12 ports (on both c1 gateways) and 16 long TCP flows from the client
 * to the server; 2 s in, c1/n0's gateway fails (`fail`, then `recover`). None of the flows is
 * reset, the probes on c1/n1 lose nothing, those that were on c1/n0 are out no longer than the
 * kind's bound; back, c1/n0 carries new flows. `waitRemoved`: wait for (and report) the broker
 * losing its Endpoint.
 */
async function failDuringFlows(
  lab: Lab,
  o: {
    kind: FailureKind;
    k: number;
    label: string;
    fail: () => Promise<unknown>;
    recover: () => Promise<unknown>;
    waitRemoved: boolean;
    retry?: boolean;
    /** The moved probes' bound when not the kind's (MOVED_OUTAGE_BOUND_MS). */
    movedBoundMs?: number;
    /** Each long flow's rate (FLOW_MBIT when absent). */
    flowMbit?: number;
    /** The failing gateway: c1/n0 (the client's cluster, default) or c2/n0 (the server's: probes told apart by the c2 gateway they cross). */
    victim?: "c1/n0" | "c2/n0";
  },
): Promise<void> {
  const { kind, k } = o;
  const movedBound = movedBoundOf(o);
  const { client, server } = ends(lab);
  // Ports of this test's own: a flow's conntrack entry left on a gateway by an earlier test would tell a wrong path.
  const ports = PROBE_PORTS.map((p) => p + 100 * k);
  const probes = new Probes(
    lab,
    ports.map((p) => [client, server, p] as const),
  );
  const { victim, pair, survivor } = sidesOf(o.victim);
  let failed = false;
  try {
    await lab.waitConnected(20_000).catch((err: unknown) => {
      const logs = logsAround(lab, ["c1/n0", "c1/n1", "c2/n0", "c2/n1"], "gateway", Date.now() - 10_000, Date.now(), 30);
      console.log(`# not connected; the gateways' last logs:\n${logs}`.replace(/\n/g, "\n#   "));
      throw err;
    });
    // Both gateways in the client's group again, each with its share of the buckets (an earlier round moved the victim's to the other).
    await groupOf(lab, 2, true);
    await probes.answering();
    await new Promise((r) => setTimeout(r, 300));
    const dst = lab.resolve(server).ip;
    const via = new Map<number, string>();
    for (const p of ports) via.set(p, await flowGateway(lab, pair, "udp", dst, p));
    if (!([...via.values()].includes(victim) && [...via.values()].includes(survivor))) {
      const what = `probes not on both gateways: ${JSON.stringify([...via])}`;
      console.log(`# ${what}; what the path depends on:\n${(await spreadState(lab, ports, pair)).replace(/^/gm, "#   ")}`);
      if (o.retry) assert.fail(`${what}\n${await spreadState(lab, ports, pair)}`);
      throw new NotSpread(what);
    }

    // Long flows at a rate the path carries with room to spare (userspace WireGuard on 2 cores would otherwise queue and drop the probes).
    const flows = tcpFlows(lab, client, server, { streams: 16, seconds: 8, mbitEach: flowMbitOf(o) });
    await new Promise((r) => setTimeout(r, 2000));
    const failedAt = performance.now();
    const failedAtWall = Date.now();
    failed = true;
    await o.fail();
    let removed = "";
    if (o.waitRemoved) {
      await until(
        `${victim}'s Endpoint removed`,
        async () => (!(await endpointNodes(lab, victim.split("/")[0] ?? "")).includes("n0") ? true : undefined),
        10_000,
      );
      removed = `Endpoint removed after ${Math.round(performance.now() - failedAt)} ms; `;
    }
    const done = await flows;
    assert.equal(done.flowBytes.length, 16);
    for (const [i, b] of done.flowBytes.entries()) assert.ok(b > 0, `flow ${i} carried nothing`);
    await new Promise((r) => setTimeout(r, 500));
    const results = await probes.stop();
    const byPort = (p: number): ProbeResult | undefined => Object.entries(results).find(([n]) => n.endsWith(`:${p}`))?.[1];
    /** A probe's outages, each as its start relative to the failure and its length. */
    const when = (r: ProbeResult) =>
      r.outages.map((o) => `at ${o.fromMs + r.originMs - failedAtWall >= 0 ? "+" : ""}${o.fromMs + r.originMs - failedAtWall} ms for ${o.ms} ms`).join(", ");
    const moved: number[] = [];
    // Losses on the surviving gateway that began before the failure are the lab's own (a first round runs again).
    const before = ports.filter((p) => {
      const r = byPort(p);
      return via.get(p) !== victim && r?.outages.some((x) => x.fromMs + r.originMs < failedAtWall);
    });
    if (before.length && !o.retry)
      throw new LossyBaseline(
        `probes ${before.map((p) => `:${p} (${when(byPort(p) as ProbeResult)})`).join(", ")} on the surviving gateway lost packets before the failure`,
      );
    printLossLogs(
      lab,
      ports.map((p) => ({ r: byPort(p), moved: via.get(p) === victim })),
      movedBound,
      failedAtWall,
    );
    for (const p of ports) {
      const r = byPort(p);
      assert.ok(r && r.answered > 0 && r.lostAtEnd === 0, `probe :${p} did not resume: ${JSON.stringify(r)}`);
      if (via.get(p) === victim) {
        moved.push(r.maxOutageMs);
        assert.ok(r.maxOutageMs <= movedBound, `probe :${p} via ${victim}: outage ${r.maxOutageMs} ms (${when(r)} after the failure)`);
      } else
        assert.equal(
          r.sent - r.answered - r.lostAtEnd,
          0,
          `probe :${p} on the surviving gateway lost ${r.sent - r.answered} of ${r.sent} (${when(r)} after the failure)`,
        );
    }
    console.log(
      `# ${o.label} ${kind} ${victim}: ${removed}16 flows all completed (${done.retransmits} retransmits); moved probes' outage ${moved.join(", ")} ms; ${ports.length - moved.length} probes on ${survivor} lost nothing`,
    );
  } finally {
    await probes.stop();
    // Back for the next test, whatever this one found.
    if (failed) await o.recover();
  }
  await backCarries(lab, o.label, victim);
}

/** After a round: connected again, the returned gateway carries new flows (through the buckets it gets back: idle ones, README, Active-active gateways). */
async function backCarries(lab: Lab, label: string, victim: string): Promise<void> {
  await lab.waitConnected(60_000);
  await groupOf(lab, 2, true);
  const back = await spread(lab, ["c1/n0", "c1/n1"], ["c2/n0", "c2/n1"]);
  const carried = victim.startsWith("c1/") ? back.local : back.remote;
  console.log(`# ${label} ${victim} back: new flows ${victim.startsWith("c1/") ? "sent" : "received"} by ${shown(carried)}`);
  assert.ok((carried.get(victim) ?? 0) >= MIN_SHARE, `${victim} carries ${shown(carried)}`);
}

/** A round's failing gateway (c1/n0 unless said), the pair of gateways of its cluster, and the other of them. */
function sidesOf(victim: "c1/n0" | "c2/n0" = "c1/n0"): { victim: string; pair: string[]; survivor: string } {
  const c = victim.slice(0, 2);
  return { victim, pair: [`${c}/n0`, `${c}/n1`], survivor: `${c}/n1` };
}

for (const cable of ["vxlan", "wireguard"] as const) {
  const ready = root && (cable === "vxlan" || (host.onPath("wg") && host.onPath("wireguard-go")));
  describe(`lab e2e: active-active gateways, ${cable} cables`, { skip: ready ? false : "needs root (and wg + wireguard-go for WireGuard)" }, () => {
    const NAME = cable === "vxlan" ? "cwaav" : "cwaaw";
    let lab: Lab;
    before(async () => {
      lab = await upConnected({ name: NAME, clusters: 2, nodes: 4, gateways: 3, gatewayMode: "active-active", cable });
      // n2's gateways join later (a gateway added to a running cluster).
      await Promise.all(["c1", "c2"].map((c) => lab.stop(c, "gateway/n2")));
      await until("n2's Endpoints withdrawn", async () =>
        (await endpointNodes(lab, "c1")).length === 2 && (await endpointNodes(lab, "c2")).length === 2 ? true : undefined,
      );
      await lab.waitConnected(20_000);
    });
    after(async () => {
      await Lab.down(NAME);
    });

    it("every gateway node of a cluster is active with an Endpoint of its own, each connected to both gateways of the other cluster", async () => {
      assert.equal(VXLAN_CABLE_DEVICE, VXLAN_CABLE.name);
      for (const c of ["c1", "c2"]) assert.deepEqual(await endpointNodes(lab, c), ["n0", "n1"], c);
      assert.deepEqual(missingPairs(runningGateways(lab), await gatewayConnections(lab)), []);
    });

    it("16 TCP flows between non-gateway pods are spread over both local and both remote gateways; each gateway's metrics and show gateways say what it carries", async () => {
      const { flows, local, remote } = await spread(lab, ["c1/n0", "c1/n1"], ["c2/n0", "c2/n1"]);
      console.log(`# 16 flows ${(flows.bitsPerSecond / 1e9).toFixed(2)} Gbit/s; sent by ${shown(local)}; received by ${shown(remote)}`);
      for (const [t, v] of [...local, ...remote]) assert.ok(v >= MIN_SHARE, `${t} carried ${Math.round(v * 100)} % (under ${MIN_SHARE * 100} %)`);
      // Each gateway's metrics say it is active and what its cable devices carried.
      // (Refreshed every 5 s: STATUS_REFRESH_MS.)
      for (const g of ["c1/n0", "c1/n1"]) {
        let m = "";
        const tx = () => Number(/^causeway_gateway_cable_bytes\{[^}]*direction="tx"[^}]*\} (\d+)/m.exec(m)?.[1] ?? 0);
        await until(
          `${g}'s cable bytes in its metrics`,
          async () => {
            m = await httpIn(lab.resolve(g).ns, METRICS_PORTS.gateway, "/metrics");
            return tx() > 1e6 ? true : undefined;
          },
          8000,
        ).catch(() => assert.fail(`${g} cable tx ${tx()} bytes in its metrics`));
        assert.match(m, /^causeway_gateway_active(\{[^}]*\})? 1$/m, g);
      }
      await flowsInMetrics(lab, ["c1/n0", "c1/n1", "c2/n0", "c2/n1"]);
    });

    for (const [k, kind] of FAILURE_KINDS.entries()) {
      it(`${kind}: a gateway fails during 16 long TCP flows — none reset, probes on the surviving gateway lose nothing, the moved ones' outage within ${MOVED_OUTAGE_BOUND_MS[kind]} ms; it returns and carries new flows`, async () => {
        await failureRound(lab, {
          kind,
          k,
          label: cable,
          flowMbit: cable === "wireguard" ? WG_FLOW_MBIT : FLOW_MBIT,
          fail: () => failGateway(lab, "c1", "n0", kind),
          recover: () => recoverGateway(lab, "c1", "n0", kind),
          waitRemoved: true,
        });
      });
    }

    it("a gateway started on a running cluster's node carries flows; nothing else restarts", async () => {
      const pids = () =>
        lab
          .processStatus()
          .filter((p) => p.role !== "gateway/n2")
          .map((p) => `${p.cluster}/${p.role}/${p.pid}/${p.alive}`);
      const was = pids();
      lab.startGateway("c1", "n2");
      await until("c1/n2's Endpoint", async () => ((await endpointNodes(lab, "c1")).includes("n2") ? true : undefined), 10_000);
      await lab.waitConnected(20_000);
      await groupOf(lab, 3);
      const { local } = await spread(lab, ["c1/n0", "c1/n1", "c1/n2"], ["c2/n0", "c2/n1"]);
      console.log(`# c1/n2 added: new flows sent by ${shown(local)}`);
      assert.ok((local.get("c1/n2") ?? 0) > 0, `c1/n2 carries ${shown(local)}`);
      assert.deepEqual(pids(), was, "no other process restarted");
    });
  });
}

for (const cable of ["vxlan", "wireguard"] as const) {
  const ready = root;
  describe(
    `lab e2e: active-active gateways on real Kubernetes nodes (join --gateway-mode active-active), ${cable} cables`,
    { skip: ready ? false : "needs root", timeout: 900_000 },
    () => {
      const NAME = cable === "vxlan" ? "cwkaa" : "cwkaw";
      let lab: Lab;
      before(async () => {
        lab = await upConnected({ name: NAME, clusters: 2, nodes: 3, gateways: 2, gatewayMode: "active-active", kube: true, cable });
        // Connected counts the gateways with an Endpoint: a gateway pod that started later than the other may not have one yet.
        await until(
          "both gateways of each cluster with an Endpoint",
          async () => ((await endpointNodes(lab, "c1")).join() === "n0,n1" && (await endpointNodes(lab, "c2")).join() === "n0,n1" ? true : undefined),
          60_000,
        );
        await lab.waitConnected(60_000);
      });
      after(async () => {
        if (process.env.CAUSEWAY_E2E_KEEP !== "1") await Lab.down(NAME);
      });

      it("both gateway nodes of each cluster are active, each in a slot of its own with an Endpoint object, connected to both gateways of the other", async () => {
        for (const id of ["c1", "c2"]) {
          const client = await lab.kubeClient(id);
          try {
            const eps = await client.list<{ spec: Endpoint }>(kube.R.endpoint, SYSTEM_NAMESPACE);
            const mine = eps.items.filter((e) => e.spec.cluster_id === id).map((e) => [e.spec.hostname, gatewaySlotOf(e.spec)] as const);
            assert.deepEqual(mine.map(([n]) => n).sort(), ["n0", "n1"], id);
            assert.deepEqual(mine.map(([, s]) => s).sort(), [1, 2], `${id}: ${JSON.stringify(mine)}`);
          } finally {
            client.close();
          }
        }
        assert.deepEqual(missingPairs(runningGateways(lab), await gatewayConnections(lab)), []);
        assert.equal(KUBE_WG_DEVICE, WG_CABLE.defaultInterface, "the lab counts the devices the gateway pods make");
      });

      it("16 TCP flows between pods of the non-gateway nodes are spread over both local and both remote gateways; each gateway's metrics and show gateways count flows it carries", async () => {
        await groupOf(lab, 2);
        const { flows, local, remote } = await spread(lab, ["c1/n0", "c1/n1"], ["c2/n0", "c2/n1"]);
        console.log(`# real nodes: 16 flows ${(flows.bitsPerSecond / 1e9).toFixed(2)} Gbit/s; sent by ${shown(local)}; received by ${shown(remote)}`);
        for (const [t, v] of [...local, ...remote]) assert.ok(v >= MIN_SHARE, `${t} carried ${Math.round(v * 100)} % (under ${MIN_SHARE * 100} %)`);
        await flowsInMetrics(lab, ["c1/n0", "c1/n1", "c2/n0", "c2/n1"]);
      });

      it("a gateway node unlabelled: its pod goes and its Endpoint is withdrawn, the other gateway carries every new flow; labelled again, it carries new flows; nothing else restarts", async () => {
        const client = await lab.kubeClient("c1");
        const label = (v: string) =>
          client.apply(kube.R.node, { metadata: { name: "n1", labels: { [view.GATEWAY_NODE_LABEL]: v } } }, { fieldManager: "causeway-e2e" });
        type Pod = { metadata: kube.ObjectMeta; spec?: { nodeName?: string }; status?: { containerStatuses?: { restartCount: number }[] } };
        const others = async () =>
          (await client.list<Pod>(kube.R.pod, SYSTEM_NAMESPACE)).items
            .filter((p) => !(p.metadata.name?.startsWith("causeway-gateway-") && p.spec?.nodeName === "n1"))
            .map((p) => `${p.metadata.name}/${p.metadata.uid}/${p.status?.containerStatuses?.[0]?.restartCount ?? 0}`)
            .sort();
        try {
          const was = await others();
          await label("false");
          await until("c1/n1's Endpoint withdrawn", async () => ((await endpointNodes(lab, "c1")).join() === "n0" ? true : undefined), 60_000);
          await groupOf(lab, 1);
          const alone = await spread(lab, ["c1/n0", "c1/n1"], ["c2/n0", "c2/n1"]);
          console.log(`# real nodes, c1/n1 unlabelled: new flows sent by ${shown(alone.local)}`);
          assert.equal(alone.local.get("c1/n1") ?? 0, 0, `c1/n1 carries ${shown(alone.local)}`);
          await label("true");
          await until("c1/n1's Endpoint back", async () => ((await endpointNodes(lab, "c1")).join() === "n0,n1" ? true : undefined), 120_000);
          await lab.waitConnected(60_000);
          await groupOf(lab, 2, true);
          const back = await spread(lab, ["c1/n0", "c1/n1"], ["c2/n0", "c2/n1"]);
          console.log(`# real nodes, c1/n1 labelled again: new flows sent by ${shown(back.local)}`);
          assert.ok((back.local.get("c1/n1") ?? 0) >= MIN_SHARE, `c1/n1 carries ${shown(back.local)}`);
          assert.deepEqual(await others(), was, "no other pod of Causeway's restarted or was replaced");
        } finally {
          await label("true").catch(() => undefined);
          client.close();
        }
      });

      // A cut link: on c2's gateway node (the members dial the broker's NodePort on c1's gateway nodes, which a cut there would take too).
      const rounds = { skip: cable === "wireguard" && process.env.CAUSEWAY_E2E_WG_ROUNDS !== "1" ? KUBE_WG_ROUNDS_NOT_YET : false };
      const kubeFlowMbit = cable === "wireguard" ? WG_FLOW_MBIT : FLOW_MBIT;
      it(
        `the underlay link of a gateway node of c2 cut during 16 long TCP flows: none reset, probes through c2's other gateway lose nothing, the moved ones' outage within ${MOVED_OUTAGE_BOUND_MS.link} ms; back, it carries new flows`,
        rounds,
        async () => {
          await failureRound(lab, {
            ...{ kind: "link", k: 2, victim: "c2/n0", label: `real nodes, ${cable}`, waitRemoved: true, flowMbit: kubeFlowMbit },
            fail: () => failGateway(lab, "c2", "n0", "link"),
            recover: () => recoverGateway(lab, "c2", "n0", "link"),
          });
        },
      );
      for (const [k, kind] of (["kill", "stop"] as const).entries()) {
        const bound = MOVED_OUTAGE_BOUND_MS[kind];
        it(
          `${kind === "kill" ? "a gateway container killed (SIGKILL)" : "a gateway pod deleted"} during 16 long TCP flows: none reset, probes on the other gateway lose nothing, the moved ones' outage within ${bound} ms; back, it carries new flows`,
          rounds,
          async () => {
            await failureRound(lab, {
              ...{ kind, k, movedBoundMs: bound, label: `real nodes, ${cable}`, waitRemoved: false, flowMbit: kubeFlowMbit },
              fail: async () => (kind === "stop" ? lab.restart("c1", "gateway/n0") : killGatewayContainer(lab)),
              // The kubelet restarts the container; the DaemonSet makes a new pod.
              recover: async () => undefined,
            });
          },
        );
      }
      if (cable === "wireguard")
        it(`a gateway container killed (SIGKILL): the pod's WireGuard keeper keeps its devices (the same ones after), probes through the cluster's gateways out at most ${MOVED_OUTAGE_BOUND_MS.kill} ms`, async () => {
          const before = await wgDevices(lab, "c1/n0");
          assert.match(before, /causeway-wg@\d+/, "c1/n0's WireGuard devices");
          const { client, server } = ends(lab);
          const probes = new Probes(
            lab,
            PROBE_PORTS.map((p) => [client, server, p + 900] as const),
          );
          try {
            await probes.answering();
            await new Promise((r) => setTimeout(r, 1000));
            await killGatewayContainer(lab);
            await new Promise((r) => setTimeout(r, 6000));
            const results = Object.entries(await probes.stop());
            console.log(`# real nodes, wireguard kill c1/n0 (probes alone): outages ${results.map(([, r]) => r.maxOutageMs).join(", ")} ms`);
            for (const [n, r] of results) assert.ok(r.lostAtEnd === 0 && r.maxOutageMs <= MOVED_OUTAGE_BOUND_MS.kill, `${n}: ${JSON.stringify(r)}`);
          } finally {
            await probes.stop();
          }
          // The same devices (name and index): the restarted gateway adopted them (a plane may have been added: a remote gateway back in another slot).
          const after = (await wgDevices(lab, "c1/n0")).split(" ");
          assert.deepEqual(
            before.split(" ").filter((d) => !after.includes(d)),
            [],
            `made again: ${before} before, ${after.join(" ")} after`,
          );
          await lab.waitConnected(60_000);
        });
    },
  );
}

/** Kills c1/n0's gateway container (its main process, SIGKILL); the kubelet restarts it. */
async function killGatewayContainer(lab: Lab): Promise<void> {
  const gw = (await podPids(lab, "c1")).find((p) => p.pod.startsWith("causeway-gateway-") && p.node === "n0");
  assert.ok(gw, "the gateway pod's process on c1/n0");
  process.kill(gw.pid, "SIGKILL");
}

/** The WireGuard devices of lab target `target`, each as name@ifindex (a device made again gets a new index). */
async function wgDevices(lab: Lab, target: string): Promise<string> {
  const r = await lab.exec(target, ["ip", "-json", "link", "show"]);
  return (JSON.parse(r.stdout) as { ifname: string; ifindex: number }[])
    .filter((l) => l.ifname.startsWith(WG_CABLE.defaultInterface))
    .map((l) => `${l.ifname}@${l.ifindex}`)
    .sort()
    .join(" ");
}
