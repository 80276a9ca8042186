/**
 * The lab's stand-in for kubelet: places the cluster's Causeway DaemonSets and Deployments on lab
 * nodes and runs the processes their pod templates describe (and the broker Deployment's replicas).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SYSTEM_NAMESPACE } from "@causeway/api";
import { kube } from "@causeway/common";
import { BROKER_ADMIN_SECRET, BROKER_NAMESPACE, BROKER_NATS_SECRET, BROKER_TLS_SECRET, bundlePath, IMAGE_BUNDLES, type ImageBundle } from "@causeway/deploy";
import { writeKubeconfig } from "./apiserver.ts";
import { LabError } from "./errors.ts";
import type { LabApi } from "./kube.ts";
import { alive, type LabProcess, startIn, stopProcess } from "./processes.ts";
import type { ClusterSpec } from "./topology.ts";

interface Container {
  command?: string[];
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
}
interface PodTemplate {
  metadata?: { annotations?: Record<string, string> };
  spec: {
    serviceAccountName?: string;
    nodeSelector?: Record<string, string>;
    containers: Container[];
    volumes?: { name: string; secret?: { secretName: string } }[];
  };
}
interface Workload {
  metadata: kube.ObjectMeta;
  spec: { replicas?: number; template: PodTemplate };
}

/** A workload with where it runs: every selected node (DaemonSet) or its first `replicas` nodes by name (Deployment: one per node, as spread constraints would). */
interface Placed {
  readonly workload: Workload;
  readonly nodes: readonly string[];
}

/** Pure: the nodes each workload's pods run on. */
export function placeWorkloads(daemonSets: readonly Workload[], deployments: readonly Workload[], nodes: readonly { metadata: kube.ObjectMeta }[]): Placed[] {
  const selected = (w: Workload) =>
    nodes
      .filter((n) => selects(w.spec.template.spec.nodeSelector, n.metadata.labels))
      .map((n) => n.metadata.name)
      .sort();
  return [
    ...daemonSets.map((w) => ({ workload: w, nodes: selected(w) })),
    ...deployments.map((w) => ({ workload: w, nodes: selected(w).slice(0, w.spec.replicas ?? 1) })),
  ];
}

/** A container's argv on this host: the image's node is this process's node, a bundle in /app is its entry point in this checkout. */
export function argvOf(c: Container, nodeBin: string, repo: string): string[] {
  const sources = new Map(Object.entries(IMAGE_BUNDLES).map(([name, entry]) => [bundlePath(name as ImageBundle), join(repo, entry)]));
  return [...(c.command ?? []), ...(c.args ?? [])].map((a, i) => (i === 0 && a === "node" ? nodeBin : (sources.get(a) ?? a)));
}

export interface KubeletContext {
  readonly client: kube.KubeClient;
  readonly spec: ClusterSpec;
  readonly api: LabApi;
  readonly dir: string;
  readonly nodeBin: string;
  readonly repo: string;
  /** Processes already running (by role); alive ones are left alone. */
  readonly running: readonly LabProcess[];
}

/** A kubeconfig for a service account, as a pod would mount it: a TokenRequest token, the LAN address. */
async function serviceAccountKubeconfig(k: KubeletContext, sa: string): Promise<string> {
  const res = await k.client.request<{ status: { token: string } }>("POST", `${kube.resourcePath(kube.R.serviceAccount, SYSTEM_NAMESPACE, sa)}/token`, {
    body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: { expirationSeconds: 86400 } },
  });
  // As a pod sees it: the API server's LAN address, its CA, the service account's token; no lab socket.
  return writeKubeconfig(join(k.dir, `${k.spec.id}-${sa}.kubeconfig`), {
    context: k.spec.id,
    user: sa,
    token: res.status.token,
    server: `https://${k.api.lanIp}:6443`,
    ca: readFileSync(join(k.api.dir, "serving.crt"), "utf8"),
  });
}

const selects = (selector: Record<string, string> = {}, labels: Record<string, string> = {}) => Object.entries(selector).every(([key, v]) => labels[key] === v);

/**
 * A container's environment as pod `pod` on `node`: the lab's own additions (its kubeconfig, a WireGuard
 * device name unique on this host, the template it was started from), then the container's env.
 */
function podEnv(c: Container, node: string, pod: string, lab: Record<string, string>): Record<string, string> {
  const env = { ...lab };
  const field: Record<string, string> = { "spec.nodeName": node, "metadata.name": pod };
  for (const e of c.env ?? []) {
    const path = e.valueFrom?.fieldRef?.fieldPath;
    env[e.name] = path ? (field[path] ?? "") : (e.value ?? "");
  }
  return env;
}

/** Pure: what makes a pod template new to the lab kubelet: its annotations (configuration digest, credential generation). */
function templateIdentity(d: Workload): string {
  return JSON.stringify(Object.entries(d.spec.template.metadata?.annotations ?? {}).sort());
}

/** The Causeway workloads of a member cluster and where they run. */
export async function placedWorkloads(client: kube.KubeClient): Promise<Placed[]> {
  const ds = await client.list<Workload>(kube.R.daemonSet, SYSTEM_NAMESPACE);
  const deps = await client.list<Workload>(kube.R.deployment, SYSTEM_NAMESPACE);
  const nodes = await client.list<{ metadata: kube.ObjectMeta }>(kube.R.node);
  return placeWorkloads(ds.items, deps.items, nodes.items);
}

/**
 * The lab's stand-in for kubelet (there is none): starts, on each lab node, the processes the
 * cluster's Causeway DaemonSets and Deployments describe (nodeSelector honoured, NODE_NAME and
 * POD_NAME set, the service account's token as its kubeconfig), and, like a rollout, replaces
 * running ones whose pod template changed. Returns the processes it started and the ones it stopped.
 */
export async function runWorkloads(k: KubeletContext): Promise<{ started: LabProcess[]; stopped: LabProcess[] }> {
  const started: LabProcess[] = [];
  const stopped: LabProcess[] = [];
  const placed = await placedWorkloads(k.client);
  for (const { workload: d, nodes } of placed) {
    const pod = d.spec.template.spec;
    const kubeconfig = await serviceAccountKubeconfig(k, pod.serviceAccountName ?? "default");
    const component = d.metadata.name.replace(/^causeway-/, "");
    for (const node of nodes) {
      const spec = k.spec.nodes.find((x) => x.name === node);
      const c = pod.containers[0];
      if (!spec || !c) continue;
      const role = `${component}/${node}`;
      const template = templateIdentity(d);
      const running = k.running.find((p) => p.role === role && alive(p.pid));
      if (running && (running.env?.CAUSEWAY_TEMPLATE ?? "") === template) continue;
      if (running) {
        await stopProcess(running.pid);
        stopped.push(running);
      }
      const env = podEnv(c, node, `${d.metadata.name}-${node}`, {
        KUBECONFIG: kubeconfig,
        CAUSEWAY_WG_INTERFACE: spec.wgInterface,
        CAUSEWAY_TEMPLATE: template,
      });
      started.push(startIn(spec.ns, role, argvOf(c, k.nodeBin, k.repo), join(k.dir, `${k.spec.id}-${node}-${component}.log`), env));
    }
  }
  stopped.push(...(await stopUnwanted(k.running, placed, started, stopped)));
  return { started, stopped };
}

/**
 * As the controller manager's namespace controller: a namespace being deleted is finalized (the
 * lab's objects in it were deleted by whoever deleted it; nothing else would remove them).
 */
export async function finalizeNamespaces(client: kube.KubeClient): Promise<void> {
  const list = await client.list<{ metadata: kube.ObjectMeta & { deletionTimestamp?: string } }>(kube.R.namespace);
  for (const n of list.items) {
    if (!n.metadata.deletionTimestamp) continue;
    await client.request("PUT", `${kube.resourcePath(kube.R.namespace, undefined, n.metadata.name)}/finalize`, {
      body: { apiVersion: "v1", kind: "Namespace", metadata: { name: n.metadata.name }, spec: { finalizers: [] } },
    });
  }
}

/**
 * As a kubelet: a workload whose DaemonSet or Deployment is gone (or no longer places it on its
 * node) is stopped, with time to shut down (on uninstall the components remove their host state then).
 */
async function stopUnwanted(
  running: readonly LabProcess[],
  placed: readonly Placed[],
  started: readonly LabProcess[],
  already: readonly LabProcess[],
): Promise<LabProcess[]> {
  const wanted = new Set(started.map((p) => p.role));
  for (const { workload, nodes } of placed) for (const n of nodes) wanted.add(`${workload.metadata.name.replace(/^causeway-/, "")}/${n}`);
  const out: LabProcess[] = [];
  for (const p of running) {
    if (p.env?.CAUSEWAY_TEMPLATE === undefined || wanted.has(p.role) || already.includes(p)) continue;
    await stopProcess(p.pid, 15_000);
    out.push(p);
  }
  return out;
}

/** Writes a Secret's keys as files (as kubelet mounts them): mount path of each key → the lab file. */
async function mountSecret(client: kube.KubeClient, name: string, mountPath: string, dir: string, files: Record<string, string>): Promise<void> {
  const secret = await client.find<{ data: Record<string, string> }>(kube.R.secret, BROKER_NAMESPACE, name);
  for (const [key, value] of Object.entries(secret?.data ?? {})) {
    const path = join(dir, `${name}-${key}`);
    writeFileSync(path, Buffer.from(value, "base64"), { mode: 0o600 });
    files[`${mountPath}/${key}`] = path;
  }
}

/**
 * Runs the broker Deployment (applied by deploy-broker) as the lab's broker processes: one per
 * replica, each on its own host (`hosts`, the first the lab's broker namespace), its Secrets'
 * keys written as files.
 */
export async function runBrokerDeployment(o: {
  client: kube.KubeClient;
  hosts: readonly { readonly ns: string; readonly socket: string; readonly role: string; readonly log: string }[];
  dir: string;
  nodeBin: string;
  repo: string;
}): Promise<{ processes: LabProcess[]; adminTokenFile: string }> {
  const dep = await o.client.get<Workload>(kube.R.deployment, BROKER_NAMESPACE, "causeway-broker");
  const files: Record<string, string> = { "/var/lib/causeway/broker.db": join(o.dir, "broker.db") };
  await mountSecret(o.client, BROKER_ADMIN_SECRET, "/etc/causeway/admin", o.dir, files);
  await mountSecret(o.client, BROKER_TLS_SECRET, "/etc/causeway/tls", o.dir, files);
  await mountSecret(o.client, BROKER_NATS_SECRET, "/etc/causeway/nats", o.dir, files);
  const adminTokenFile = join(o.dir, "admin-token");
  writeFileSync(adminTokenFile, readFileSync(files["/etc/causeway/admin/token"] ?? ""), { mode: 0o600 });
  const c = dep.spec.template.spec.containers[0];
  if (!c) throw new LabError("the broker Deployment has no container");
  // Mounts become lab paths; the lab adds a Unix socket listener for host-side tools (like a port-forward), plain as every Unix socket of the broker.
  const argv = argvOf(c, o.nodeBin, o.repo).map((a) => files[a] ?? a);
  const replicas = Math.min(dep.spec.replicas ?? 1, o.hosts.length);
  const processes = o.hosts.slice(0, replicas).map((h) => startIn(h.ns, h.role, [...argv, "--listen", h.socket], h.log));
  return { processes, adminTokenFile };
}
