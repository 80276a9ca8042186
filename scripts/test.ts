/**
 * npm test: every *.test.ts under the workspaces' src folders in one node:test run (one summary).
 * Files run one at a time: lab tests build namespaces and must not compete for the 2 cores.
 *
 * npm run test:unit (--unit): only the unit tests — no e2e/ (labs, API servers) and no
 * *.system.test.ts (real kernel in network namespaces, server processes, built binaries) — so
 * even as root it starts no namespace and no server process; nothing is built first.
 */
import { spawnSync } from "node:child_process";
import { globSync } from "node:fs";

/** Whether a test file is a unit test (what test:unit runs). */
export const isUnitTest = (file: string): boolean => !file.startsWith("e2e/") && !file.endsWith(".system.test.ts");

const unit = process.argv.includes("--unit");
if (!unit) {
  // The Kubernetes tier needs kube-apiserver built from the official modules: minutes the first time, cached after.
  const built = spawnSync("bash", ["lab/kube/build.sh"], { stdio: ["ignore", "ignore", "inherit"] });
  if (built.status !== 0) process.exit(built.status ?? 1);
  // Each lab cluster's DNS is a real CoreDNS built from its official module (cached after the first build).
  const coredns = spawnSync("bash", ["lab/coredns/build.sh"], { stdio: ["ignore", "ignore", "inherit"] });
  if (coredns.status !== 0) process.exit(coredns.status ?? 1);
  // The Helm chart is checked with helm built from its official module (cached after the first build).
  const helm = spawnSync("bash", ["deploy/helm/build.sh"], { stdio: ["ignore", "ignore", "inherit"] });
  if (helm.status !== 0) process.exit(helm.status ?? 1);
  // The lab's WireGuard cables run the current wireguard-go (this kernel has no module), built from its official module.
  const wg = spawnSync("bash", ["lab/wireguard/build.sh"], { stdio: ["ignore", "pipe", "inherit"], encoding: "utf8" });
  if (wg.status !== 0) process.exit(wg.status ?? 1);
  process.env.CAUSEWAY_WIREGUARD_GO = wg.stdout.trim();
}
const files = globSync("*/src/**/*.test.ts")
  .filter((f) => !unit || isUnitTest(f))
  .sort((a, b) => Number(a.startsWith("e2e/")) - Number(b.startsWith("e2e/")) || a.localeCompare(b));
const r = spawnSync(process.execPath, ["--test", `--test-concurrency=${unit ? 2 : 1}`, "--test-timeout=600000", ...files], { stdio: "inherit" });
process.exit(r.status ?? 1);
