/**
 * npm run bench:failover — gateway failover outage. A lab of 2 clusters × 3 nodes with two
 * gateway candidates each (n0, n1), per cable driver; a UDP probe every 20 ms each way between
 * pods on non-gateway nodes (c1/n2/p0 ↔ c2/n2/p0); BENCH_TRIALS (default 10) trials of each
 * failure kind of c1's active gateway — kill -9, its node's underlay link cut, a graceful stop —
 * then the old gateway is brought back (passive) before the next trial. Prints, per driver and
 * kind, the median and maximum outage (the longest run without answers, either direction).
 * Prints figures; not a test.
 */
import type { FailureKind } from "@causeway/lab";
import { FAILURE_KINDS, failGateway, haStatuses, Lab, Probes, recoverGateway, until, activeGateway, waitFailover } from "@causeway/lab";

const TRIALS = Number(process.env.BENCH_TRIALS ?? 10);
const DRIVERS = (process.env.BENCH_DRIVERS ?? "vxlan,wireguard").split(",");
const PAIRS = [
  ["c1/n2/p0", "c2/n2/p0"],
  ["c2/n2/p0", "c1/n2/p0"],
] as const;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

/** One trial: probes running, fail the active gateway, wait for the standby and the cables, stop probes, bring the old one back. */
async function trial(lab: Lab, kind: FailureKind): Promise<number> {
  const was = await activeGateway(lab, "c1");
  const probes = new Probes(lab, PAIRS);
  await probes.answering();
  await sleep(1000);
  await failGateway(lab, "c1", was, kind);
  await waitFailover(lab, "c1", was);
  await lab.waitConnected(15_000);
  await sleep(2500);
  const r = await probes.stop();
  await recoverGateway(lab, "c1", was, kind);
  await until(`${was} passive`, async () => ((await haStatuses(lab, "c1"))[was] === "passive" ? true : undefined), 15_000);
  await sleep(1000);
  const lost = Object.values(r).some((x) => x.lostAtEnd > 0 || x.neverAnswered);
  return lost ? Number.POSITIVE_INFINITY : Math.max(...Object.values(r).map((x) => x.maxOutageMs));
}

const rows: string[] = [];
for (const cable of DRIVERS) {
  const name = "cwfo";
  await Lab.down(name);
  const lab = await Lab.up({ name, clusters: 2, nodes: 3, gateways: 2, cable });
  try {
    await lab.waitConnected(60_000);
    const out: Record<string, number[]> = {};
    // Interleaved: trial i of every kind before trial i+1.
    for (let i = 0; i < TRIALS; i++) for (const kind of FAILURE_KINDS) (out[kind] ??= []).push(await trial(lab, kind));
    for (const kind of FAILURE_KINDS) {
      const xs = out[kind] ?? [];
      rows.push(
        `${cable.padEnd(10)} ${kind.padEnd(5)} median ${String(median(xs)).padStart(5)} ms   max ${String(Math.max(...xs)).padStart(5)} ms   (trials: ${xs.join(", ")})`,
      );
    }
  } finally {
    await Lab.down(name);
  }
}
console.log(`\nCauseway gateway failover (UDP probe every 20 ms each way, non-gateway pods; ${TRIALS} trials per kind; lease 1 s, rounds 0.2 s)`);
for (const r of rows) console.log(r);
console.log(
  "target: max ≤ 2000 ms for every kind and driver (kill = kill -9 of the active gateway process; link = its node's underlay link down; stop = SIGTERM)",
);
