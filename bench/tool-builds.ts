/**
 * npm run bench:tool-builds [-- --repo DIR] [-- --only coredns,helm] — each Go-built tool's cold
 * build, one at a time, alone on the machine: every build gets an empty scratch CAUSEWAY_CACHE and
 * empty Go module and build caches (GOMODCACHE, GOCACHE, GOPATH set there too, for build scripts
 * that predate the shared caches), so nothing downloaded or compiled before helps. --repo measures
 * another checkout's build scripts (e.g. a worktree of an older commit) for a before/after figure.
 * The user's caches are not touched. Prints figures; not a test.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { REPO_ROOT } from "@causeway/lab";

const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const repo = resolve(arg("--repo") ?? REPO_ROOT);
// The same map as scripts/tools.ts (bench/ may not import scripts/).
const SCRIPTS: Record<string, string> = {
  kubernetes: "lab/kube/build.sh",
  coredns: "lab/coredns/build.sh",
  helm: "deploy/helm/build.sh",
  "wireguard-go": "lab/wireguard/build.sh",
  flannel: "lab/flannel/build.sh",
};
const only = arg("--only")?.split(",") ?? Object.keys(SCRIPTS);

/** Runs one build script with empty caches; its wall time and exit code (output kept for a failure). */
function build(script: string): Promise<{ ms: number; code: number | null; out: string }> {
  const scratch = mkdtempSync(join(tmpdir(), "cw-tool-build-"));
  const env = {
    ...process.env,
    CAUSEWAY_CACHE: join(scratch, "cache"),
    GOMODCACHE: join(scratch, "gomod"),
    GOCACHE: join(scratch, "gobuild"),
    GOPATH: join(scratch, "gopath"),
  };
  const t0 = performance.now();
  const child = spawn("bash", [join(repo, script)], { cwd: repo, env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  return new Promise((done) =>
    child.on("close", (code) => {
      const ms = performance.now() - t0;
      // Go makes its module cache read-only; make it writable again to remove it.
      spawn("chmod", ["-R", "u+w", scratch]).on("close", () => {
        rmSync(scratch, { recursive: true, force: true });
        done({ ms, code, out });
      });
    }),
  );
}

console.log(`cold builds, one at a time, empty caches — ${repo}`);
for (const tool of only) {
  const script = SCRIPTS[tool];
  if (!script) throw new Error(`unknown tool ${tool}; tools: ${Object.keys(SCRIPTS).join(", ")}`);
  const r = await build(script);
  console.log(
    `  ${tool.padEnd(15)} ${(r.ms / 1000).toFixed(0).padStart(4)} s${r.code === 0 ? "" : `  FAILED (exit ${r.code}):\n${r.out.split("\n").slice(-10).join("\n")}`}`,
  );
}
