/**
 * npm run bench:active-active — what active-active gateways buy (issue 23). A lab of 2 clusters ×
 * 4 nodes, n0 and n1 gateway nodes, n3 a plain node; VXLAN cables.
 *
 * 1. Throughput. Each gateway node's underlay link is limited to BENCH_RATE_MBIT (default 500)
 *    with a token bucket (tc tbf), so the links, not this machine's 2 cores, are the bottleneck.
 *    BENCH_RUNS (default 3) interleaved runs of 16 TCP flows (iperf3 -P 16, 5 s) from c1/n3/p0 to
 *    c2/n3/p0: with both gateways of each cluster active, then with n1's gateways stopped (one
 *    active each). Prints the aggregate of each, their ratio (target ≥ 1.8) and the per-gateway
 *    split of the bytes sent (c1's gateways) and received (c2's).
 * 2. Failover, next to active-passive. 12 UDP probes (one every 20 ms, each its own flow) from
 *    c1/n3/p0 to c2/n3/p0; BENCH_TRIALS (default 5) trials of each failure kind of c1/n0's gateway
 *    — kill -9, its underlay link cut, a graceful stop. Active-active: the longest outage of the
 *    probes that crossed the failed gateway, and what the others lost; active-passive (a lab of
 *    the same shape, n0 and n1 candidates, the failed one the active): the longest outage of any
 *    probe. Prints figures; not a test.
 */
import {
  activeGateway,
  cableBytesOf,
  cableDelta,
  endpointNodes,
  FAILURE_KINDS,
  type FailureKind,
  failGateway,
  flowGateway,
  haStatuses,
  Lab,
  Probes,
  recoverGateway,
  tcpFlows,
  until,
  waitFailover,
} from "@causeway/lab";

const RATE_MBIT = Number(process.env.BENCH_RATE_MBIT ?? 500);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const TRIALS = Number(process.env.BENCH_TRIALS ?? 5);
const SECONDS = 5;
const CLIENT = "c1/n3/p0";
const SERVER = "c2/n3/p0";
const GATEWAYS = ["c1/n0", "c1/n1", "c2/n0", "c2/n1"] as const;
const PROBE_PORTS = Array.from({ length: 12 }, (_, i) => 42001 + i);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
const pct = (part: number, whole: number) => `${whole ? Math.round((100 * part) / whole) : 0} %`;

/** 16 flows for SECONDS: the aggregate (Mbit/s) and each gateway's share of the bytes. */
async function measure(lab: Lab) {
  const before = await cableBytesOf(lab, GATEWAYS);
  const r = await tcpFlows(lab, CLIENT, SERVER, { streams: 16, seconds: SECONDS });
  const d = cableDelta(before, await cableBytesOf(lab, GATEWAYS));
  const bytes = (g: string, dir: "rx" | "tx") => d[g]?.[dir] ?? 0;
  const share = (gs: readonly string[], dir: "rx" | "tx") => {
    const total = gs.reduce((sum, g) => sum + bytes(g, dir), 0);
    return gs.map((g) => `${g} ${pct(bytes(g, dir), total)}`).join(", ");
  };
  return { mbit: r.bitsPerSecond / 1e6, split: `sent ${share(["c1/n0", "c1/n1"], "tx")}; received ${share(["c2/n0", "c2/n1"], "rx")}` };
}

async function throughput(lab: Lab): Promise<string[]> {
  for (const g of GATEWAYS)
    await lab.exec(g, ["tc", "qdisc", "replace", "dev", "ul0", "root", "tbf", "rate", `${RATE_MBIT}mbit`, "burst", "256kb", "latency", "50ms"]);
  const two: number[] = [];
  const one: number[] = [];
  const lines: string[] = [];
  for (let i = 0; i < RUNS; i++) {
    const a = await measure(lab);
    two.push(a.mbit);
    await Promise.all(["c1", "c2"].map((c) => lab.stop(c, "gateway/n1")));
    await until("n1's Endpoints withdrawn", async () =>
      (await endpointNodes(lab, "c1")).length === 1 && (await endpointNodes(lab, "c2")).length === 1 ? true : undefined,
    );
    await lab.waitConnected(30_000);
    const b = await measure(lab);
    one.push(b.mbit);
    for (const c of ["c1", "c2"]) lab.startGateway(c, "n1");
    await lab.waitConnected(30_000);
    lines.push(
      `run ${i + 1}: 2 gateways ${a.mbit.toFixed(0)} Mbit/s (${a.split}); 1 gateway ${b.mbit.toFixed(0)} Mbit/s (${b.split}); ratio ${(a.mbit / b.mbit).toFixed(2)}`,
    );
  }
  for (const g of GATEWAYS) await lab.exec(g, ["tc", "qdisc", "del", "dev", "ul0", "root"]);
  return [
    ...lines,
    `median: 2 gateways ${median(two).toFixed(0)} Mbit/s, 1 gateway ${median(one).toFixed(0)} Mbit/s, ratio ${(median(two) / median(one)).toFixed(2)} (target ≥ 1.8)`,
  ];
}

let trials = 0;

/** One active-active trial: the moved probes' longest outage and what the others lost. */
async function activeActiveTrial(lab: Lab, kind: FailureKind): Promise<{ moved: number; survivorsLost: number }> {
  // Ports of this trial's own: a conntrack entry an earlier trial left on a gateway would tell a wrong path.
  const ports = PROBE_PORTS.map((p) => p + 20 * trials++);
  const probes = new Probes(
    lab,
    ports.map((p) => [CLIENT, SERVER, p] as const),
  );
  await probes.answering();
  await sleep(300);
  const dst = lab.resolve(SERVER).ip;
  const via = new Map<number, string>();
  for (const p of ports) via.set(p, await flowGateway(lab, ["c1/n0", "c1/n1"], "udp", dst, p));
  await sleep(700);
  await failGateway(lab, "c1", "n0", kind);
  await until("n0's Endpoint removed", async () => (!(await endpointNodes(lab, "c1")).includes("n0") ? true : undefined), 10_000);
  await sleep(2000);
  const results = await probes.stop();
  let moved = 0;
  let survivorsLost = 0;
  for (const p of ports) {
    const r = Object.entries(results).find(([n]) => n.endsWith(`:${p}`))?.[1];
    if (!r || r.lostAtEnd > 0 || r.neverAnswered) moved = Number.POSITIVE_INFINITY;
    else if (via.get(p) === "c1/n0") moved = Math.max(moved, r.maxOutageMs);
    else survivorsLost += r.sent - r.answered;
  }
  await recoverGateway(lab, "c1", "n0", kind);
  await lab.waitConnected(30_000);
  await sleep(500);
  return { moved, survivorsLost };
}

/** One active-passive trial (n0 made active first): the longest outage of any probe. */
async function activePassiveTrial(lab: Lab, kind: FailureKind): Promise<number> {
  const was = await activeGateway(lab, "c1");
  const probes = new Probes(
    lab,
    PROBE_PORTS.map((p) => [CLIENT, SERVER, p] as const),
  );
  await probes.answering();
  await sleep(1000);
  await failGateway(lab, "c1", was, kind);
  await waitFailover(lab, "c1", was);
  await lab.waitConnected(15_000);
  await sleep(2000);
  const r = await probes.stop();
  await recoverGateway(lab, "c1", was, kind);
  await until(`${was} passive`, async () => ((await haStatuses(lab, "c1"))[was] === "passive" ? true : undefined), 15_000);
  await sleep(500);
  return Object.values(r).some((x) => x.lostAtEnd > 0 || x.neverAnswered) ? Number.POSITIVE_INFINITY : Math.max(...Object.values(r).map((x) => x.maxOutageMs));
}

const out: string[] = [];
const aa: Record<string, { moved: number; survivorsLost: number }[]> = {};
const ap: Record<string, number[]> = {};
{
  const name = "cwbaa";
  await Lab.down(name);
  const lab = await Lab.up({ name, clusters: 2, nodes: 4, gateways: 2, gatewayMode: "active-active" });
  try {
    await lab.waitConnected(30_000);
    out.push(`Throughput, 16 TCP flows c1/n3/p0 → c2/n3/p0, each gateway's underlay limited to ${RATE_MBIT} Mbit/s (tc tbf), ${SECONDS} s per measure:`);
    out.push(...(await throughput(lab)).map((l) => `  ${l}`));
    for (let i = 0; i < TRIALS; i++) for (const kind of FAILURE_KINDS) (aa[kind] ??= []).push(await activeActiveTrial(lab, kind));
  } finally {
    await Lab.down(name);
  }
}
{
  const name = "cwbap";
  await Lab.down(name);
  const lab = await Lab.up({ name, clusters: 2, nodes: 4, gateways: 2 });
  try {
    await lab.waitConnected(60_000);
    for (let i = 0; i < TRIALS; i++) for (const kind of FAILURE_KINDS) (ap[kind] ??= []).push(await activePassiveTrial(lab, kind));
  } finally {
    await Lab.down(name);
  }
}
out.push(`Failover outage (12 UDP probes every 20 ms, ${TRIALS} trials per kind; lease 1 s, rounds 0.2 s):`);
for (const kind of FAILURE_KINDS) {
  const a = aa[kind] ?? [];
  const moved = a.map((t) => t.moved);
  const p = ap[kind] ?? [];
  out.push(
    `  ${kind.padEnd(5)} active-active: moved flows median ${median(moved)} ms, max ${Math.max(...moved)} ms; the others lost ${a.map((t) => t.survivorsLost).join("/")} probes` +
      ` | active-passive: every flow median ${median(p)} ms, max ${Math.max(...p)} ms`,
  );
}
console.log(`\nCauseway active-active gateways (VXLAN, standalone)\n${out.join("\n")}`);
