/**
 * npm run bench:dns — Causeway's DNS server against CoreDNS (built from its Go module) serving
 * the same clusterset as a zone file, on one machine, in one lab namespace, with dnsperf and
 * the same query file: BENCH_SERVICES (default 1000) services, their names, their
 * <cluster>.<name>s and unknown names. For each server: the most queries per second dnsperf
 * gets in BENCH_SECONDS (default 10), then latency percentiles at a fixed BENCH_RATE (default
 * 5000 qps). CoreDNS runs twice: the file plugin alone (the equivalent zone), and with its
 * cache plugin in front. Prints figures and the QPS ratio; not a test.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ProcessRunner } from "@causeway/common";
import { REPO_ROOT } from "@causeway/lab";
import { coreDnsBinary } from "@causeway/lab";
import { benchQueries, benchServices, benchZone } from "./dns-data.ts";

const SERVICES = Number(process.env.BENCH_SERVICES ?? 1000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const RATE = Number(process.env.BENCH_RATE ?? 5000);
const NS = "cwdnsb-ns";
const run = new ProcessRunner(120_000);
const pct = (xs: readonly number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))] ?? Number.NaN;

interface Result {
  qps: number;
  lost: number;
  p50: number;
  p99: number;
  p999: number;
}

/** dnsperf at full speed (QPS), then at RATE with every query's latency (-v) for percentiles, in ms. */
async function measure(port: number, queries: string): Promise<Result> {
  const common = ["netns", "exec", NS, "dnsperf", "-s", "127.0.0.1", "-p", String(port), "-d", queries];
  const full = await run.run("ip", [...common, "-l", String(SECONDS), "-c", "4", "-q", "200"], { timeoutMs: (SECONDS + 30) * 1000 });
  const qps = Number(/Queries per second:\s+([\d.]+)/.exec(full.stdout)?.[1] ?? Number.NaN);
  const lost = Number(/Queries lost:\s+(\d+)/.exec(full.stdout)?.[1] ?? Number.NaN);
  const timed = await run.run("ip", [...common, "-l", "5", "-Q", String(RATE), "-v"], { timeoutMs: 60_000 });
  // -v lines: "> NOERROR <name> A 0.000123" (latency in seconds, last field).
  const lat = timed.stdout
    .split("\n")
    .filter((l) => l.startsWith("> "))
    .map((l) => Number(l.trim().split(/\s+/).at(-1)) * 1000)
    .filter((x) => Number.isFinite(x));
  return { qps, lost, p50: pct(lat, 50), p99: pct(lat, 99), p999: pct(lat, 99.9) };
}

async function until(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const r = await run.run("ip", ["netns", "exec", NS, "dnsperf", "-s", "127.0.0.1", "-p", String(port), "-n", "1", "-t", "1"], {
      input: "s0000.bench.svc.clusterset.local A\n",
      allowFailure: true,
    });
    if (/Queries completed:\s+1 /.test(r.stdout)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing answers on port ${port}`);
}

const dir = mkdtempSync(join(tmpdir(), "cw-bench-dns-"));
const procs: ReturnType<typeof spawn>[] = [];
await run.run("ip", ["netns", "del", NS], { allowFailure: true });
try {
  await run.run("ip", ["netns", "add", NS]);
  await run.run("ip", ["-n", NS, "link", "set", "lo", "up"]);
  const services = benchServices(SERVICES);
  const queries = join(dir, "queries.txt");
  writeFileSync(queries, benchQueries(services));
  writeFileSync(join(dir, "clusterset.zone"), benchZone(services));
  const zone = join(dir, "clusterset.zone");
  // The equivalent zone; and the same with CoreDNS's answer cache, as a cluster's CoreDNS usually runs.
  writeFileSync(
    join(dir, "Corefile"),
    `clusterset.local:5301 {\n    bind 127.0.0.1\n    file ${zone}\n}\nclusterset.local:5302 {\n    bind 127.0.0.1\n    file ${zone}\n    cache 30\n}\n`,
  );
  const start = (argv: string[]) => {
    const p = spawn("ip", ["netns", "exec", NS, ...argv], { stdio: "ignore" });
    procs.push(p);
  };
  start([process.execPath, join(REPO_ROOT, "bench/dns-server.ts"), "--port", "5300", "--services", String(SERVICES)]);
  start([await coreDnsBinary(), "-conf", join(dir, "Corefile")]);
  await until(5300);
  await until(5301);
  await until(5302);
  const causeway = await measure(5300, queries);
  const coredns = await measure(5301, queries);
  const cached = await measure(5302, queries);
  const row = (name: string, r: Result) =>
    `${name.padEnd(9)} ${r.qps.toFixed(0).padStart(7)} qps (lost ${r.lost})   at ${RATE} qps: p50 ${r.p50.toFixed(3)} ms  p99 ${r.p99.toFixed(3)} ms  p99.9 ${r.p999.toFixed(3)} ms`;
  console.log(`${SERVICES} services, ${benchQueries(services).split("\n").length - 1} distinct queries, dnsperf -c 4 -q 200 for ${SECONDS} s`);
  console.log(row("causeway", causeway));
  console.log(row("coredns", coredns));
  console.log(row("+cache", cached));
  console.log(
    `QPS ratio causeway/coredns: ${(causeway.qps / coredns.qps).toFixed(2)} (target ≥ 1.0); against CoreDNS with its cache plugin ${(causeway.qps / cached.qps).toFixed(2)}`,
  );
} finally {
  for (const p of procs) p.kill("SIGTERM");
  await new Promise((r) => setTimeout(r, 300));
  await run.run("ip", ["netns", "del", NS], { allowFailure: true });
  rmSync(dir, { recursive: true, force: true });
}
