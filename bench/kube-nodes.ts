/**
 * npm run bench:kube-nodes — Causeway on the lab's real nodes (2 clusters × 2 nodes, kubelet +
 * containerd + kube-proxy each, images built and imported):
 *   - `lab up --kube` without Causeway: wall time (builds cached);
 *   - deploy-broker + join c1, then `causeway join` of c2 (images on the nodes) → the first TCP
 *     connection between pods of c1 and c2 (a connection attempt every 100 ms);
 *   - each Causeway pod's memory after --settle seconds (default 300): its container's working set
 *     (what `kubectl top pod` shows), its process's VmRSS and PSS.
 * Prints figures; not a test.  npm run bench:kube-nodes -- [--settle 300]
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ProcessRunner } from "@causeway/common";
import { BROKER_NAMESPACE, deployBroker } from "@causeway/deploy";
import { Lab, podPids, REPO_ROOT, waitWorkloadsReady } from "@causeway/lab";
import { SYSTEM_NAMESPACE } from "@causeway/api";

const NAME = "cwbk";
const arg = (n: string) => (process.argv.includes(n) ? process.argv[process.argv.indexOf(n) + 1] : undefined);
const settle = Number(arg("--settle") ?? 300);
const run = new ProcessRunner(180_000);
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

const mib = (kb: number) => `${(kb / 1024).toFixed(0)} MiB`;
const kbOf = (text: string, key: string) => Number(new RegExp(`^${key}:?\\s+(\\d+)`, "m").exec(text)?.[1] ?? 0);

/**
 * A pod process's memory, in kB: the container's working set as kubelet reports it (its memory
 * cgroup's usage less inactive file pages: what `kubectl top pod` shows), the process's VmRSS
 * (which counts in full the pages of the node binary and libraries it shares with every other
 * Node process on the host) and its PSS (shared pages divided among their users).
 */
function memoryOf(pid: number): { workingSet: number; rss: number; sharedClean: number; pss: number } {
  const smaps = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
  const path = /^\d+:memory:(.*)$/m.exec(readFileSync(`/proc/${pid}/cgroup`, "utf8"))?.[1] ?? "";
  const dir = `/sys/fs/cgroup/memory${path}`;
  const usage = Number(readFileSync(`${dir}/memory.usage_in_bytes`, "utf8")) / 1024;
  const inactive = kbOf(readFileSync(`${dir}/memory.stat`, "utf8"), "total_inactive_file") / 1024;
  return { workingSet: usage - inactive, rss: kbOf(smaps, "Rss"), sharedClean: kbOf(smaps, "Shared_Clean"), pss: kbOf(smaps, "Pss") };
}

await Lab.down(NAME);
try {
  let t0 = performance.now();
  const lab = await Lab.up({ name: NAME, clusters: 2, nodes: 2, kube: true, install: false });
  console.log(`lab up --kube (2 × 2, no Causeway): ${s(performance.now() - t0)}`);
  const kc = (id: string) => lab.state.kube?.apis[id]?.kubeconfig ?? "";
  const info = join(lab.state.dir, "broker-info.subm");
  const cli = (args: string[]) =>
    run.run("ip", ["netns", "exec", lab.state.broker.ns, process.execPath, join(REPO_ROOT, "cli/src/main.ts"), ...args], { allowFailure: true });
  t0 = performance.now();
  await deployBroker({ kubeconfig: kc("c1"), out: info });
  const c1 = await lab.kubeClient("c1");
  await waitWorkloadsReady(c1, BROKER_NAMESPACE);
  console.log(`deploy-broker → broker pod ready: ${s(performance.now() - t0)}`);
  t0 = performance.now();
  const j1 = await cli(["join", info, "--kubeconfig", kc("c1"), "--cable-driver", "vxlan"]);
  if (j1.exitCode !== 0) throw new Error(j1.stderr);
  await waitWorkloadsReady(c1, SYSTEM_NAMESPACE);
  c1.close();
  console.log(`join c1 → its pods ready: ${s(performance.now() - t0)}`);
  const dst = lab.resolve("c2/n1/p0").ip;
  t0 = performance.now();
  const j2 = await cli(["join", info, "--kubeconfig", kc("c2"), "--cable-driver", "vxlan"]);
  if (j2.exitCode !== 0) throw new Error(j2.stderr);
  const joined = performance.now() - t0;
  let first = 0;
  for (let i = 0; i < 1200 && !first; i++) {
    const r = await lab.exec("c1/n1/p0", [process.execPath, join(REPO_ROOT, "lab/src/tools/client.ts"), "--host", dst, "--timeout", "100"], 5000);
    if (r.exitCode === 0) first = performance.now() - t0;
    else await new Promise((res) => setTimeout(res, 100));
  }
  console.log(`causeway join c2 (returned after ${s(joined)}) → first TCP connection c1/n1/p0 → c2/n1/p0: ${first ? s(first) : "none within 120 s"}`);
  console.log(`waiting ${settle} s before reading resident memory …`);
  await new Promise((res) => setTimeout(res, settle * 1000));
  for (const id of ["c1", "c2"]) {
    for (const p of await podPids(lab, id)) {
      if (!p.namespace.startsWith("causeway")) continue;
      const m = memoryOf(p.pid);
      const name = p.pod.replace(/-[a-z0-9]{5}$|-[a-f0-9]{8,10}-[a-z0-9]{5}$/, "");
      console.log(
        `${id} ${name} on ${p.node}: working set ${mib(m.workingSet)}, VmRSS ${mib(m.rss)} (of which shared with other processes ${mib(m.sharedClean)}), PSS ${mib(m.pss)}`,
      );
    }
  }
} finally {
  await Lab.down(NAME);
}
