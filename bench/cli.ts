/**
 * npm run bench:cli — how fast the causeway CLI starts: `causeway --help` and `causeway show all
 * --broker … -o json` against a broker on a unix socket (in this process, two clusters joined),
 * each run 10 times after 3 warm-ups through the repo's launcher; median, min and max. "warm":
 * Node's compile cache as the launcher keeps it; "cold": an empty cache before every run (the
 * first command after a change). Prints figures; not a test.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startBroker } from "@causeway/broker";
import { silentLogger } from "@causeway/common";
import { BrokerConnection } from "@causeway/common/broker-client";
import { REPO_ROOT } from "@causeway/lab";

const RUNS = 10;
const WARMUP = 3;

/** One run of the launcher; its wall time in ms (asynchronous: the broker answers from this process). */
function once(args: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const t0 = performance.now();
  const child = spawn(join(REPO_ROOT, "causeway"), args, { env, stdio: ["ignore", "ignore", "inherit"] });
  return new Promise((resolve, reject) =>
    child.on("close", (code) => (code === 0 ? resolve(performance.now() - t0) : reject(new Error(`causeway ${args.join(" ")} exited ${code}`)))),
  );
}

async function measure(label: string, args: readonly string[], cache: (run: number) => string): Promise<void> {
  const times: number[] = [];
  for (let i = 0; i < WARMUP + RUNS; i++) {
    const ms = await once(args, { ...process.env, NODE_COMPILE_CACHE: cache(i) });
    if (i >= WARMUP) times.push(ms);
  }
  times.sort((a, b) => a - b);
  const median = (times[RUNS / 2 - 1]! + times[RUNS / 2]!) / 2;
  console.log(`${label.padEnd(28)} median ${median.toFixed(0).padStart(5)} ms   min ${times[0]!.toFixed(0)}  max ${times.at(-1)!.toFixed(0)}`);
}

const dir = mkdtempSync(join(tmpdir(), "cw-bench-cli-"));
const sock = `unix://${join(dir, "broker.sock")}`;
const broker = await startBroker({ listen: [sock], db: join(dir, "b.db"), adminTokenFile: join(dir, "admin") }, silentLogger());
try {
  const admin = new BrokerConnection({ address: sock, token: readFileSync(join(dir, "admin"), "utf8").trim() });
  for (const i of [1, 2]) await admin.join({ cluster_id: `c${i}`, cluster_cidr: [`10.${i}.0.0/16`], service_cidr: [`10.10${i}.0.0/16`], global_cidr: [] });
  admin.close();
  const show = ["show", "all", "--broker", sock, "--token-file", join(dir, "admin"), "-o", "json"];
  const warm = () => join(dir, "cache-warm");
  let n = 0;
  const cold = () => join(dir, `cache-cold-${n++}`);
  await measure("causeway --help (warm)", ["--help"], warm);
  await measure("causeway --help (cold)", ["--help"], cold);
  await measure("show --broker -o json (warm)", show, warm);
  await measure("show --broker -o json (cold)", show, cold);
} finally {
  await broker.close();
  rmSync(dir, { recursive: true, force: true });
}
