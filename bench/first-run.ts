/**
 * npm run bench:first-run — the cold path a new user walks: `npm run demo` with empty Causeway
 * caches (a scratch CAUSEWAY_CACHE: Go module and build caches, the built tools, logs — the
 * user's own cache is not touched), then again warm (everything cached). With --test, `npm test`
 * too (cold, then warm: minutes), from a cache of its own. `--only test` picks the scripts,
 * `--cold` skips the warm runs. Prints each step's line with its time and the totals. System
 * packages and node_modules are as the machine has them. Prints figures; not a test.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Lab, REPO_ROOT } from "@causeway/lab";

const LAB = "cwfirst";

/** Runs an npm script with the scratch cache; its step lines (✓/✗) as it prints them, and its wall time. */
function run(script: string, cache: string): Promise<{ ms: number; code: number | null; steps: string[] }> {
  const t0 = performance.now();
  const child = spawn("npm", ["run", "--silent", script], {
    cwd: REPO_ROOT,
    env: { ...process.env, CAUSEWAY_CACHE: cache, CAUSEWAY_DEMO_LAB: LAB },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const steps: string[] = [];
  let tail = "";
  const take = (d: Buffer) => {
    const lines = (tail + d.toString()).split("\n");
    tail = lines.pop() ?? "";
    for (const l of lines) if (/^(✓|✗|===)/.test(l.replace(/^\r/, ""))) steps.push(l.replace(/^\r/, ""));
  };
  child.stdout.on("data", take);
  child.stderr.on("data", () => undefined);
  return new Promise((resolve) => child.on("close", (code) => resolve({ ms: performance.now() - t0, code, steps })));
}

const fmt = (ms: number) => `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
// Each script starts from its own empty cache: npm test's cold run gets no CoreDNS or Go modules from the demo's.
const only = process.argv.includes("--only") ? process.argv[process.argv.indexOf("--only") + 1]?.split(",") : undefined;
const scripts = only ?? ["demo", ...(process.argv.includes("--test") ? ["test"] : [])];
for (const script of scripts) {
  const cache = mkdtempSync(join(tmpdir(), "cw-first-run-"));
  try {
    for (const phase of process.argv.includes("--cold") ? ["cold"] : ["cold", "warm"]) {
      const r = await run(script, cache);
      console.log(`npm run ${script} (${phase}): ${fmt(r.ms)}${r.code === 0 ? "" : `  FAILED (exit ${r.code})`}`);
      for (const s of r.steps.filter((x) => !x.startsWith("==="))) console.log(`    ${s}`);
      if (script === "demo") await Lab.down(LAB);
    }
  } finally {
    // Go makes its module cache read-only.
    spawnSync("chmod", ["-R", "u+w", cache]);
    rmSync(cache, { recursive: true, force: true });
  }
}
