import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SYSTEM_NAMESPACE } from "@causeway/api";
import { type CommandRunner, kube, view } from "@causeway/common";
import { APP, BROKER_ADMIN_SECRET, BROKER_NAMESPACE, BROKER_NATS_SECRET, BROKER_TLS_SECRET } from "@causeway/deploy";
import { stringify as toYaml } from "yaml";
import { ApiServer, kubeApiServerBinary, writeKubeconfig } from "./apiserver.ts";
import { mtuOpt } from "./build.ts";
import { alive, type LabProcess, startIn, stopProcess } from "./processes.ts";
import type { LabService } from "./services.ts";
import { type ClusterSpec, underlayNs } from "./topology.ts";
import { LabError } from "./errors.ts";

/** One cluster's API server in the lab: on the cluster LAN (for its nodes) and on the underlay (for admins). */
export interface LabApi {
  readonly ns: string;
  readonly dir: string;
  readonly lanIp: string;
  readonly underlayIp: string;
  /** Admin kubeconfig: the underlay address, plus the lab socket for tools in the host namespace. */
  readonly kubeconfig: string;
  /** Admin kubeconfig with the LAN address, for the cluster's own pods (its CoreDNS). */
  readonly lanKubeconfig?: string;
}

export const apiAddresses = (c: ClusterSpec) => ({ lanIp: `198.19.${c.index}.2`, underlayIp: `198.18.${c.index}.2` });

export function apiServerOf(lab: string, dir: string, c: ClusterSpec): ApiServer {
  const { lanIp, underlayIp } = apiAddresses(c);
  // "limited" has no RBAC bindings: for tests of what a user without permissions sees.
  return new ApiServer({
    ns: `${lab}-${c.id}-api`,
    dir: join(dir, `${c.id}-kube`),
    ips: [lanIp, underlayIp],
    serviceCidr: c.serviceCidr,
    users: { limited: [] },
  });
}

/** Builds the API server namespace of a cluster, starts etcd + kube-apiserver, writes the admin kubeconfig. */
export async function buildApi(run: CommandRunner, lab: string, dir: string, c: ClusterSpec, mtu?: number): Promise<LabApi> {
  const api = apiServerOf(lab, dir, c);
  const { lanIp, underlayIp } = apiAddresses(c);
  const ns = api.o.ns;
  await run.run("ip", ["netns", "add", ns]);
  const lines = [
    "link set lo up",
    `link add eth0 type veth peer name api netns ${c.switchNs}`,
    `address add ${lanIp}/24 dev eth0`,
    "link set eth0 up",
    `link add ul0${mtuOpt(mtu)} type veth peer name ${c.id}api${mtuOpt(mtu)} netns ${underlayNs(lab)}`,
    `address add ${underlayIp}/16 dev ul0`,
    "link set ul0 up",
  ];
  await run.run("ip", ["-n", ns, "-batch", "-"], { input: `${lines.join("\n")}\n` });
  await run.run("ip", ["-n", c.switchNs, "-batch", "-"], { input: "link set api master br0\nlink set api up\n" });
  await run.run("ip", ["-n", underlayNs(lab), "-batch", "-"], { input: `link set ${c.id}api master br0\nlink set ${c.id}api up\n` });
  await api.start(kubeApiServerBinary());
  const kubeconfig = api.writeKubeconfig(join(dir, `${c.id}.kubeconfig`), { context: c.id, user: "admin", server: `https://${underlayIp}:${api.port}` });
  const lanKubeconfig = api.writeKubeconfig(join(dir, `${c.id}.lan.kubeconfig`), {
    context: c.id,
    user: "admin",
    server: `https://${lanIp}:${api.port}`,
    socket: false,
  });
  return { ns, dir: api.o.dir, lanIp, underlayIp, kubeconfig, lanKubeconfig };
}

/**
 * What a real cluster would have before Causeway: its Nodes (InternalIP, pod CIDR), kubeadm's
 * networking config (where join discovers the pod CIDR), and the lab's Services with their
 * EndpointSlices (standing in for kube-proxy's inputs).
 */
export async function registerCluster(client: kube.KubeClient, c: ClusterSpec, lanKubeconfig = ""): Promise<void> {
  const fm = { fieldManager: "causeway-lab" };
  // The cluster's CoreDNS configuration as kubeadm installs it (the kubernetes plugin for
  // cluster.local; the lab's instance reads the API with a kubeconfig instead of a service account).
  await client.apply(
    kube.R.configMap,
    { metadata: { name: "coredns", namespace: "kube-system" }, ...{ data: { Corefile: kubeCorefile(lanKubeconfig, c.id) } } },
    fm,
  );
  // Several candidates (--gateways): labelled here, as an operator would; one is left to join.
  const candidates = c.nodes.filter((n) => n.gateway).length > 1;
  for (const n of c.nodes) {
    const node = {
      metadata: {
        name: n.name,
        labels: { "kubernetes.io/hostname": n.name, ...(candidates && n.gateway ? { [view.GATEWAY_NODE_LABEL]: "true" } : {}) },
        annotations: { [view.CNI_IP_ANNOTATION]: n.cniIp, ...(n.publicIp ? { [view.PUBLIC_IP_ANNOTATION]: `ipv4:${n.publicIp}` } : {}) },
      },
      spec: { podCIDR: n.podCidr, podCIDRs: [n.podCidr] },
    };
    await client.apply(kube.R.node, node, fm);
    const status = {
      addresses: [
        { type: "InternalIP", address: n.lanIp },
        { type: "Hostname", address: n.name },
      ],
      conditions: [{ type: "Ready", status: "True", reason: "LabNode", message: "lab node" }],
    };
    await client.apply(kube.R.node, { metadata: { name: n.name }, ...{ status } }, { ...fm, sub: "status" });
  }
  const clusterConfiguration = toYaml({
    apiVersion: "kubeadm.k8s.io/v1beta4",
    kind: "ClusterConfiguration",
    networking: { podSubnet: c.podCidr, serviceSubnet: c.serviceCidr },
  });
  await client.apply(
    kube.R.configMap,
    { metadata: { name: "kubeadm-config", namespace: "kube-system" }, ...{ data: { ClusterConfiguration: clusterConfiguration } } },
    fm,
  );
  for (const s of c.services) {
    const backend = c.nodes.find((n) => n.pods.some((p) => p.ip === s.backendIp));
    await applyServiceObjects(client, {
      namespace: s.namespace,
      name: s.name,
      clusterIP: s.vip,
      port: s.port,
      targetPort: s.backendPort,
      endpoints: [{ addresses: [s.backendIp], conditions: { ready: true }, ...(backend ? { nodeName: backend.name } : {}) }],
    });
  }
}

/** A Service (one TCP port "http") and the one EndpointSlice the lab keeps for it, as the EndpointSlice controller would. */
async function applyServiceObjects(
  client: kube.KubeClient,
  s: { namespace: string; name: string; clusterIP: string; port: number; targetPort: number; endpoints: unknown[] },
): Promise<void> {
  const fm = { fieldManager: "causeway-lab" };
  await client.apply(
    kube.R.service,
    {
      metadata: { name: s.name, namespace: s.namespace },
      ...{ spec: { clusterIP: s.clusterIP, ports: [{ name: "http", port: s.port, targetPort: s.targetPort, protocol: "TCP" }] } },
    },
    fm,
  );
  await client.apply(
    kube.R.endpointSlice,
    {
      metadata: {
        name: `${s.name}-lab`,
        namespace: s.namespace,
        labels: { "kubernetes.io/service-name": s.name, "endpointslice.kubernetes.io/managed-by": "causeway-lab" },
      },
      ...{ addressType: "IPv4", endpoints: s.endpoints, ports: [{ name: "http", port: s.targetPort, protocol: "TCP" }] },
    },
    fm,
  );
}

/** Pure: a kubeadm-style Corefile for a lab cluster (nothing is forwarded out of the lab). */
export function kubeCorefile(kubeconfig: string, context: string): string {
  return [
    ".:53 {",
    "    errors",
    "    kubernetes cluster.local in-addr.arpa ip6.arpa {",
    `        kubeconfig ${kubeconfig} ${context}`,
    "        pods insecure",
    "        fallthrough in-addr.arpa ip6.arpa",
    "        ttl 5",
    "    }",
    "    reload 2s",
    "    loadbalance",
    "}",
    "",
  ].join("\n");
}

/** A lab service in the cluster's API server: its namespace, the Service (VIP or headless) and one EndpointSlice listing its pods, all ready. */
export async function applyLabService(client: kube.KubeClient, svc: LabService): Promise<void> {
  await client.apply(kube.R.namespace, { metadata: { name: svc.namespace } }, { fieldManager: "causeway-lab" });
  await applyServiceObjects(client, {
    namespace: svc.namespace,
    name: svc.name,
    clusterIP: svc.vip ?? "None",
    port: svc.port,
    targetPort: svc.port,
    endpoints: svc.pods.map((p) => ({ addresses: [p.ip], hostname: p.name, conditions: { ready: true }, nodeName: p.node })),
  });
}

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

/** A container's argv on this host: the image's node and /app are this process's node and this checkout. */
export function argvOf(c: Container, nodeBin: string, repo: string): string[] {
  return [...(c.command ?? []), ...(c.args ?? [])].map((a, i) =>
    i === 0 && a === "node" ? nodeBin : a.startsWith(`${APP}/`) ? join(repo, a.slice(APP.length + 1)) : a,
  );
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
