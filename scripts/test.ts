/**
 * npm test: every *.test.ts under the workspaces' src folders in one node:test run (one summary).
 * Files run one at a time: lab tests build namespaces and must not compete for the 2 cores.
 */
import { spawnSync } from "node:child_process";
import { globSync } from "node:fs";

// The Kubernetes tier needs kube-apiserver built from the official modules: minutes the first time, cached after.
const built = spawnSync("bash", ["e2e/kube/build.sh"], { stdio: ["ignore", "ignore", "inherit"] });
if (built.status !== 0) process.exit(built.status ?? 1);
const files = globSync("*/src/**/*.test.ts").sort((a, b) => Number(a.startsWith("e2e/")) - Number(b.startsWith("e2e/")) || a.localeCompare(b));
const r = spawnSync(process.execPath, ["--test", "--test-concurrency=1", "--test-timeout=600000", ...files], { stdio: "inherit" });
process.exit(r.status ?? 1);
