/**
 * npm test: every *.test.ts under the workspaces' src folders in one node:test run (one summary).
 * Files run one at a time: lab tests build namespaces and must not compete for the 2 cores.
 *
 * Each file's process loads scripts/test-watchdog.ts: a file that stays alive after its tests fails.
 *
 * npm run test:unit (--unit): only the unit tests — no e2e/ (labs, API servers) and no
 * *.system.test.ts (real kernel in network namespaces, server processes, built binaries) — so
 * even as root it starts no namespace and no server process; nothing is built first.
 */
import { spawnSync } from "node:child_process";
import { buildTools } from "./tools.ts";
import { globSync } from "node:fs";

/** Whether a test file is a unit test (what test:unit runs). */
const isUnitTest = (file: string): boolean => !file.startsWith("e2e/") && !file.endsWith(".system.test.ts");

const unit = process.argv.includes("--unit");
if (!unit) {
  // the Kubernetes binaries (Kubernetes tier), CoreDNS (each lab cluster's DNS), helm (the chart test) and
  // wireguard-go (this kernel has no WireGuard module), built from their official modules; cached after.
  const tools = await buildTools(["kubernetes", "coredns", "helm", "wireguard-go", "flannel"]);
  process.env.CAUSEWAY_WIREGUARD_GO = tools["wireguard-go"];
}
const files = globSync("*/src/**/*.test.ts")
  .filter((f) => !unit || isUnitTest(f))
  .sort((a, b) => Number(a.startsWith("e2e/")) - Number(b.startsWith("e2e/")) || a.localeCompare(b));
const watchdog = new URL("./test-watchdog.ts", import.meta.url).pathname;
const args = ["--import", watchdog, "--test", `--test-concurrency=${unit ? 2 : 1}`, "--test-timeout=600000", ...files];
const r = spawnSync(process.execPath, args, { stdio: "inherit" });
process.exit(r.status ?? 1);
