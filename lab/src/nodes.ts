/**
 * Real lab nodes: in each node's network namespace its own containerd (Debian's), kubelet and
 * kube-proxy (built at KUBE_VERSION), started with nsenter so that they see the host's cgroup and
 * mount namespaces as a node's would. Stopping a node, or cleaning up after a crash, finds what
 * it left by name: processes in its cgroups and namespace, mounts under its directory, its cgroups.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { CommandRunner } from "@causeway/common";
import { LabError } from "./errors.ts";
import { cniConflist, containerdToml, type KubeProxyMode, kubeletYaml, kubeProxyYaml, type NodePaths, nodePaths } from "./nodeconfig.ts";
import { alive, type LabProcess, startIn, stopProcess } from "./processes.ts";
import type { ClusterSpec, NodeSpec } from "./topology.ts";
import { until } from "./until.ts";

const CGROUPS = "/sys/fs/cgroup";

/** The cgroup hierarchies mounted here: v1's (cpu, memory, …, name=systemd) and, in a hybrid setup, v2's unified one (runc makes the containers' cgroups there too). */
function hierarchies(o: { v1Only?: boolean } = {}): string[] {
  if (!existsSync(CGROUPS)) return [];
  return readdirSync(CGROUPS).filter((h) => !(o.v1Only && h === "unified") && existsSync(join(CGROUPS, h, "cgroup.procs")));
}

/** The node's cgroup in every hierarchy, cpuset's cpus and mems copied from the root (an empty cpuset takes no tasks). */
function makeCgroups(name: string): void {
  for (const h of hierarchies({ v1Only: true })) {
    const dir = join(CGROUPS, h, name);
    mkdirSync(dir, { recursive: true });
    if (h === "cpuset") {
      for (const f of ["cpuset.cpus", "cpuset.mems"]) writeFileSync(join(dir, f), readFileSync(join(CGROUPS, h, f), "utf8"));
    }
  }
}

/** Every process in a cgroup and the cgroups under it. */
function cgroupPids(dir: string): number[] {
  if (!existsSync(dir)) return [];
  const pids = readFileSync(join(dir, "cgroup.procs"), "utf8").split("\n").filter(Boolean).map(Number);
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) pids.push(...cgroupPids(join(dir, e.name)));
  return pids;
}

/** Removes a cgroup tree, deepest first (the kernel refuses a cgroup with children or tasks). */
function removeCgroupTree(dir: string): void {
  if (!existsSync(dir)) return;
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) removeCgroupTree(join(dir, e.name));
  try {
    rmdirSync(dir);
  } catch {
    // busy for a moment after its last task exits; the caller retries
  }
}

/** The lab's node cgroups left on this host (a crashed lab's too): names starting with `<lab>-`. */
export function labCgroups(lab: string): string[] {
  const names = new Set<string>();
  for (const h of hierarchies()) for (const e of readdirSync(join(CGROUPS, h))) if (e.startsWith(`${lab}-`)) names.add(e);
  return [...names];
}

/** Kills everything in the cgroups (containers, their shims' children), then removes them; bounded. */
export async function removeCgroups(names: readonly string[]): Promise<void> {
  for (let i = 0; i < 50; i++) {
    const dirs = names.flatMap((n) => hierarchies().map((h) => join(CGROUPS, h, n))).filter(existsSync);
    if (!dirs.length) return;
    for (const pid of new Set(dirs.flatMap(cgroupPids))) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone
      }
    }
    dirs.forEach(removeCgroupTree);
    await new Promise((r) => setTimeout(r, 100));
  }
  const left = names.flatMap((n) => hierarchies().map((h) => join(CGROUPS, h, n))).filter(existsSync);
  if (left.length) throw new LabError(`could not remove the lab's cgroups: ${left.join(", ")}`);
}

/** Mount points under `dir` (containerd's overlay and shm mounts, kubelet's volumes, pod network namespaces), deepest first. */
export function mountsUnder(dir: string): string[] {
  const prefix = dir.endsWith("/") ? dir : `${dir}/`;
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => (l.split(" ")[4] ?? "").replace(/\\040/g, " "))
    .filter((m) => m.startsWith(prefix))
    .sort((a, b) => b.length - a.length);
}

/** Lazily unmounts everything under `dir` (a mount left behind would keep the directory and its files). */
export async function unmountUnder(run: CommandRunner, dir: string): Promise<void> {
  for (let i = 0; i < 5; i++) {
    const mounts = mountsUnder(dir);
    if (!mounts.length) return;
    for (const m of mounts) await run.run("umount", ["-l", m], { allowFailure: true });
  }
}

export interface NodeProcesses {
  readonly containerd: LabProcess;
  readonly kubelet: LabProcess;
  readonly kubeProxy: LabProcess;
}

/** Writes the node's files and cgroups, starts its containerd and waits for its socket. */
export async function startContainerd(labDir: string, c: ClusterSpec, n: NodeSpec): Promise<{ paths: NodePaths; process: LabProcess }> {
  const p = nodePaths(labDir, c, n);
  for (const d of [p.dir, p.cniDir, p.ipamDir, p.kubeletDir, p.podLogs, p.runcRoot]) mkdirSync(d, { recursive: true });
  writeFileSync(p.containerdConfig, containerdToml(p));
  writeFileSync(join(p.cniDir, "10-pods.conflist"), cniConflist(c, n, p));
  makeCgroups(p.cgroup);
  const process = startIn(p.ns, `containerd/${n.name}`, ["containerd", "--config", p.containerdConfig], join(p.dir, "containerd.log"), {}, { nsenter: true });
  await until(
    `containerd of ${c.id}/${n.name}`,
    async () => {
      if (!alive(process.pid)) throw new LabError(`containerd of ${c.id}/${n.name} exited; see ${process.log}`);
      return existsSync(p.socket) ? true : undefined;
    },
    30_000,
  );
  return { paths: p, process };
}

/** Imports image archives into the node's containerd (the namespace kubelet uses), unpacked for its snapshotter. */
export async function importImages(run: CommandRunner, p: NodePaths, archives: readonly string[]): Promise<void> {
  for (const a of archives) {
    await run.run("ctr", ["--address", p.socket, "--namespace", "k8s.io", "images", "import", a], { timeoutMs: 300_000 });
  }
}

/** Starts the node's kubelet (registering with the API server at `kubeconfig`) and kube-proxy. */
export function startKubelet(bin: string, c: ClusterSpec, n: NodeSpec, p: NodePaths, kubeconfig: string): LabProcess {
  writeFileSync(p.kubeletConfig, kubeletYaml(c, n, p));
  return startIn(
    p.ns,
    `kubelet/${n.name}`,
    [
      join(bin, "kubelet"),
      "--config",
      p.kubeletConfig,
      "--kubeconfig",
      kubeconfig,
      "--root-dir",
      p.kubeletDir,
      "--hostname-override",
      n.name,
      "--node-ip",
      n.lanIp,
      // The lab acts as the cloud provider: it sets the node's addresses (an ExternalIP on gateway candidates).
      "--cloud-provider=external",
      "--v=1",
    ],
    join(p.dir, "kubelet.log"),
    {},
    { nsenter: true },
  );
}

export function startKubeProxy(bin: string, c: ClusterSpec, n: NodeSpec, p: NodePaths, kubeconfig: string, mode: KubeProxyMode): LabProcess {
  writeFileSync(p.kubeProxyConfig, kubeProxyYaml(c, n, kubeconfig, mode));
  return startIn(
    p.ns,
    `kube-proxy/${n.name}`,
    [join(bin, "kube-proxy"), "--config", p.kubeProxyConfig, "--v=1"],
    join(p.dir, "kube-proxy.log"),
    {},
    { nsenter: true },
  );
}

/**
 * flanneld for the node (`--cni flannel`): the Kubernetes subnet manager (the Node's pod CIDR,
 * through the node's kubeconfig), the VXLAN backend over the node's LAN link (eth0), and its
 * masquerade rules (--ip-masq); its network config and subnet file in the node's directory.
 */
export function startFlannel(bin: string, c: ClusterSpec, n: NodeSpec, p: NodePaths, kubeconfig: string): LabProcess {
  const conf = join(p.dir, "flannel-net-conf.json");
  writeFileSync(conf, `${JSON.stringify({ Network: c.podCidr, Backend: { Type: "vxlan" } })}\n`);
  return startIn(
    p.ns,
    `flanneld/${n.name}`,
    [
      bin,
      "--kube-subnet-mgr",
      "--kubeconfig-file",
      kubeconfig,
      "--iface",
      "eth0",
      "--ip-masq",
      "--net-config-path",
      conf,
      "--subnet-file",
      join(p.dir, "flannel-subnet.env"),
      "--healthz-port",
      "0",
    ],
    join(p.dir, "flanneld.log"),
    { NODE_NAME: n.name },
    { nsenter: true },
  );
}

/**
 * Stops a node: kubelet and kube-proxy first (nothing restarts containers), then every container
 * (by the node's cgroups), containerd and its shims (by the namespace: the caller destroys it),
 * then unmounts what they mounted and removes the runc state.
 */
export async function stopNode(run: CommandRunner, processes: readonly LabProcess[], p: NodePaths): Promise<void> {
  const order = ["kubelet/", "kube-proxy/", "flanneld/", "containerd/"];
  for (const prefix of order) await Promise.all(processes.filter((x) => x.role.startsWith(prefix)).map((x) => stopProcess(x.pid, 5000)));
  await removeCgroups([p.cgroup]);
  await unmountUnder(run, p.dir);
  rmSync(p.runcRoot, { recursive: true, force: true });
}
