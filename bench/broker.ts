/**
 * npm run bench:broker — the broker at clusterset scale, both backends side by side in one run:
 * SQLite (one broker) and NATS JetStream (a 3-node NATS cluster, the bucket replicated 3 times,
 * user/password). Everything runs in a network namespace of its own (NATS on its loopback); this
 * process talks to the broker through its Unix socket.
 *
 * Per backend: 100 clusters join; 100 watchers watch exports; then
 * 1. writes: every cluster writes 100 exports (10,000), the 100 clusters at once → writes/s, and
 *    write → watcher latency over all 1,000,000 deliveries (the broker saturated);
 * 2. fan-out at a steady 200 writes/s (1,000 updates) → write → watcher latency p50/p99 to the
 *    100 watchers (the target: p99 ≤ 200 ms);
 * 3. resync: the broker is killed (-9) and started again; time from the start until a watcher
 *    that was synced has resumed and sees a write made after the restart (target ≤ 5 s);
 * 4. resident memory of the broker (and of the NATS servers) with the 10,000 records loaded
 *    (target ≤ 1 GB).
 * Prints figures; not a test. BENCH_CLUSTERS / BENCH_EXPORTS / BENCH_WATCHERS change the sizes.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exportName, unavailableExport } from "@causeway/api";
import { startNatsServer } from "@causeway/broker";
import { BrokerWatcher, silentLogger } from "@causeway/common";
import { BrokerConnection } from "@causeway/common/broker-client";

const CLUSTERS = Number(process.env.BENCH_CLUSTERS ?? 100);
const EXPORTS = Number(process.env.BENCH_EXPORTS ?? 100);
const WATCHERS = Number(process.env.BENCH_WATCHERS ?? 100);
const STEADY = 1000;
const STEADY_RATE = 200;
const REPO = join(import.meta.dirname, "..");
const NS = `cwbb-${process.pid}`;
const dir = mkdtempSync(join(tmpdir(), "causeway-bench-broker-"));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: Float64Array, p: number) => xs[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))] ?? Number.NaN;
const rssMb = (pid: number) => {
  const m = /VmRSS:\s+(\d+) kB/.exec(existsSync(`/proc/${pid}/status`) ? readFileSync(`/proc/${pid}/status`, "utf8") : "");
  return m ? Math.round(Number(m[1]) / 1024) : Number.NaN;
};

interface Result {
  backend: string;
  writesPerS: number;
  loadP50: number;
  loadP99: number;
  steadyP50: number;
  steadyP99: number;
  resyncMs: number;
  brokerRssMb: number;
  natsRssMb?: number;
}

const unavailable = (name: string) =>
  unavailableExport({ namespace: "bench", name, type: "ClusterSetIP", exportedAt: new Date().toISOString() }, "a bench record");

/** Starts the broker (in the namespace) for a backend; resolves with its process once it answers. */
async function startBroker(backend: string, flags: readonly string[]): Promise<{ child: ChildProcess; socket: string; token: string }> {
  const socket = `unix://${join(dir, `${backend}.sock`)}`;
  const tokenFile = join(dir, `${backend}-admin-token`);
  const argv = [process.execPath, join(REPO, "broker/src/main.ts"), "--listen", socket, "--admin-token-file", tokenFile, ...flags];
  const child = spawn("ip", ["netns", "exec", NS, ...argv], { stdio: ["ignore", "ignore", "inherit"] });
  const end = Date.now() + 60_000;
  for (;;) {
    if (existsSync(tokenFile)) {
      const token = readFileSync(tokenFile, "utf8").trim();
      const c = new BrokerConnection({ address: socket, token });
      try {
        await c.whoAmI();
        return { child, socket, token };
      } catch {
        // not yet
      } finally {
        c.close();
      }
    }
    if (child.exitCode !== null || Date.now() > end) throw new Error(`the ${backend} broker did not start`);
    await sleep(50);
  }
}

/** Each watcher's receive time of every event, from the moment its write was sent (keyed cluster/name). */
class Deliveries {
  readonly sentAt = new Map<string, number>();
  #lat = new Float64Array(0);
  #n = 0;
  expect(total: number): void {
    this.#lat = new Float64Array(total);
    this.#n = 0;
    this.sentAt.clear();
  }
  seen(key: string): void {
    const t = this.sentAt.get(key);
    if (t !== undefined && this.#n < this.#lat.length) this.#lat[this.#n++] = performance.now() - t;
  }
  async settle(): Promise<Float64Array> {
    for (let i = 0; i < 600 && this.#n < this.#lat.length; i++) await sleep(100);
    return this.#lat.slice(0, this.#n).sort();
  }
}

/** 1. Every cluster writes its exports, all clusters at once; returns the time it took. */
async function writeAll(writers: readonly BrokerConnection[], ids: readonly string[], d: Deliveries): Promise<number> {
  const t0 = performance.now();
  await Promise.all(
    writers.map(async (w, i) => {
      for (let j = 0; j < EXPORTS; j++) {
        const name = exportName("bench", `s${j}`);
        d.sentAt.set(`${ids[i]}/${name}`, performance.now());
        await w.put("export", ids[i] ?? "", name, unavailable(`s${j}`));
      }
    }),
  );
  return performance.now() - t0;
}

/** 2. Steady updates, one every 1000/STEADY_RATE ms, round-robin over the clusters. */
async function writeSteady(writers: readonly BrokerConnection[], ids: readonly string[], d: Deliveries): Promise<void> {
  for (let k = 0; k < STEADY; k++) {
    const i = k % CLUSTERS;
    const name = exportName("bench", `s${k % EXPORTS}`);
    d.sentAt.set(`${ids[i]}/${name}`, performance.now());
    void writers[i]?.put("export", ids[i] ?? "", name, unavailable(`s${k % EXPORTS}`));
    await sleep(1000 / STEADY_RATE);
  }
}

/** 3. A synced watcher; the broker killed and started again; ms from the start until the watcher sees a write made after it. */
async function resync(
  backend: string,
  flags: readonly string[],
  broker: Broker,
  writer: BrokerConnection,
  clusterId: string,
): Promise<{ ms: number; broker: Broker }> {
  const watcher = new BrokerWatcher(new BrokerConnection({ address: broker.socket, token: broker.token }), {
    kinds: ["export"],
    log: silentLogger(),
    onChange: () => undefined,
    minBackoffMs: 50,
    maxBackoffMs: 200,
  });
  watcher.start();
  await watcher.synced;
  broker.child.kill("SIGKILL");
  await new Promise((r) => broker.child.once("close", r));
  const restartAt = performance.now();
  const next = await startBroker(backend, flags);
  const marker = await writer.put("export", clusterId, exportName("bench", "after-restart"), unavailable("after-restart"));
  const markerRev = Number(marker?.revision ?? 0);
  while (watcher.revision < markerRev && performance.now() - restartAt < 60_000) await sleep(5);
  const ms = performance.now() - restartAt;
  watcher.stop();
  return { ms, broker: next };
}

type Broker = Awaited<ReturnType<typeof startBroker>>;

async function bench(backend: string, flags: readonly string[], natsPids: readonly number[]): Promise<Result> {
  const broker = await startBroker(backend, flags);
  const admin = new BrokerConnection({ address: broker.socket, token: broker.token, callTimeoutMs: 30_000 });
  const ids = Array.from({ length: CLUSTERS }, (_, i) => `c${String(i + 1).padStart(3, "0")}`);
  const writers: BrokerConnection[] = [];
  for (const [i, id] of ids.entries()) {
    const r = await admin.join({ cluster_id: id, cluster_cidr: [`10.${i + 1}.0.0/16`], service_cidr: [`11.${i + 1}.0.0/16`], global_cidr: [] });
    writers.push(new BrokerConnection({ address: broker.socket, token: r.token, callTimeoutMs: 30_000 }));
  }
  const d = new Deliveries();
  const watchConns = Array.from({ length: WATCHERS }, () => new BrokerConnection({ address: broker.socket, token: broker.token }));
  const rev = (await admin.list("export")).revision;
  const cancels = watchConns.map((c) =>
    c.watch(
      ["export"],
      rev,
      (e) => {
        if (e.record) d.seen(`${e.record.clusterId}/${e.record.name}`);
      },
      () => undefined,
    ),
  );
  await sleep(500);
  d.expect(CLUSTERS * EXPORTS * WATCHERS);
  const writeMs = await writeAll(writers, ids, d);
  const load = await d.settle();
  d.expect(STEADY * WATCHERS);
  await writeSteady(writers, ids, d);
  const steady = await d.settle();
  const brokerRssMb = rssMb(broker.child.pid ?? 0);
  const natsRssMb = natsPids.length ? natsPids.reduce((s, p) => s + rssMb(p), 0) : undefined;
  for (const c of cancels) c();
  for (const c of watchConns) c.close();
  const r = await resync(backend, flags, broker, writers[0] as BrokerConnection, ids[0] ?? "");
  admin.close();
  for (const w of writers) w.close();
  r.broker.child.kill("SIGTERM");
  await new Promise((res) => r.broker.child.once("close", res));
  return {
    backend,
    writesPerS: Math.round((CLUSTERS * EXPORTS) / (writeMs / 1000)),
    loadP50: pct(load, 50),
    loadP99: pct(load, 99),
    steadyP50: pct(steady, 50),
    steadyP99: pct(steady, 99),
    resyncMs: r.ms,
    brokerRssMb,
    ...(natsRssMb !== undefined ? { natsRssMb } : {}),
  };
}

spawnSync("ip", ["netns", "del", NS]);
spawnSync("ip", ["netns", "add", NS]);
spawnSync("ip", ["-n", NS, "link", "set", "lo", "up"]);
const nats: ChildProcess[] = [];
try {
  const results: Result[] = [];
  results.push(await bench("sqlite", ["--db", join(dir, "broker.db")], []));
  const password = "bench-password";
  writeFileSync(join(dir, "nats-password"), `${password}\n`, { mode: 0o600 });
  const ports = [14222, 14223, 14224];
  for (const [i, port] of ports.entries()) {
    nats.push(
      await startNatsServer(
        {
          name: `n${i + 1}`,
          host: "127.0.0.1",
          port,
          dir,
          cluster: { name: "bench", routePort: 16222 + i, routes: ports.map((_, j) => `127.0.0.1:${16222 + j}`).filter((_, j) => j !== i) },
          auth: { user: "causeway", password },
          prefix: ["ip", "netns", "exec", NS],
        },
        { timeoutMs: 30_000 },
      ),
    );
  }
  const natsFlags = [
    "--backend",
    "nats",
    "--nats-servers",
    ports.map((p) => `nats://127.0.0.1:${p}`).join(","),
    "--nats-replicas",
    "3",
    "--nats-user",
    "causeway",
    "--nats-password-file",
    join(dir, "nats-password"),
  ];
  results.push(
    await bench(
      "nats",
      natsFlags,
      nats.map((c) => c.pid ?? 0),
    ),
  );
  console.log(
    `broker: ${CLUSTERS} clusters × ${EXPORTS} exports (${CLUSTERS * EXPORTS}), ${WATCHERS} watchers; steady fan-out at ${STEADY_RATE} writes/s (${STEADY} writes)`,
  );
  console.log("backend  writes/s  load p50/p99 ms   steady p50/p99 ms  resync ms  broker RSS MB  NATS RSS MB (3 servers)");
  for (const r of results) {
    console.log(
      `${r.backend.padEnd(8)} ${String(r.writesPerS).padStart(8)}  ${r.loadP50.toFixed(0).padStart(6)} / ${r.loadP99.toFixed(0).padEnd(7)}  ${r.steadyP50.toFixed(1).padStart(6)} / ${r.steadyP99.toFixed(1).padEnd(8)}  ${r.resyncMs.toFixed(0).padStart(9)}  ${String(r.brokerRssMb).padStart(13)}  ${r.natsRssMb ?? "-"}`,
    );
  }
} finally {
  for (const c of nats) c.kill("SIGKILL");
  spawnSync("ip", ["netns", "del", NS]);
  rmSync(dir, { recursive: true, force: true });
}
