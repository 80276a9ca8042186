/**
 * The Kubernetes tier on real nodes: per cluster, etcd + kube-apiserver + kube-controller-manager
 * + kube-scheduler; per node its own containerd, kubelet and kube-proxy; pods networked by the
 * CNI plugins; CoreDNS and the lab's test pods as Deployments and Pods from locally built images.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { SYSTEM_NAMESPACE, ValidationError } from "@causeway/api";
import { kube } from "@causeway/common";
import { IMAGE, podProblems, warningEvents } from "@causeway/deploy";
import { kubeApiServerBinary } from "./apiserver.ts";
import { writePodResolvConf } from "./dns.ts";
import { LabError } from "./errors.ts";
import { causewayImage, corednsImage, pauseImage } from "./images.ts";
import type { LabApi } from "./kube.ts";
import { brokerVolume, corednsObjects, echoObjects, LAB_SERVICE_LABEL, labPodName, labServiceObjects, type LabObject } from "./labpods.ts";
import { clusterDnsIp, type KubeProxyMode, nodePaths } from "./nodeconfig.ts";
import { importImages, startContainerd, startFlannel, startKubelet, startKubeProxy } from "./nodes.ts";
import { labMemoryDir, REPO_ROOT } from "./paths.ts";
import { alive, type LabProcess, startIn } from "./processes.ts";
import type { LabService, LabServicePod } from "./services.ts";
import type { LabCluster, LabCore } from "./state.ts";
import { until } from "./until.ts";

const FM = { fieldManager: "causeway-lab" };

/** The directory holding the Kubernetes binaries (built once, cached). */
export const kubeBinDir = (): string => dirname(kubeApiServerBinary());

/** The image archives every real node imports: the sandbox image, CoreDNS, Causeway's own. */
export async function labImageArchives(): Promise<string[]> {
  return Promise.all([pauseImage(), corednsImage(), causewayImage()]);
}

/** The cluster's controller manager and scheduler, beside its API server (its LAN kubeconfig, no serving ports). */
export function startControlPlane(bin: string, api: LabApi): LabProcess[] {
  const kc = api.lanKubeconfig ?? api.kubeconfig;
  return [
    startIn(
      api.ns,
      "kube-controller-manager",
      [
        join(bin, "kube-controller-manager"),
        `--kubeconfig=${kc}`,
        `--root-ca-file=${join(api.dir, "serving.crt")}`,
        `--service-account-private-key-file=${join(api.dir, "sa.key")}`,
        "--use-service-account-credentials=false",
        "--leader-elect=false",
        "--secure-port=0",
        "--v=1",
      ],
      join(api.dir, "kube-controller-manager.log"),
      {},
      { nsenter: true },
    ),
    startIn(
      api.ns,
      "kube-scheduler",
      [join(bin, "kube-scheduler"), `--kubeconfig=${kc}`, "--leader-elect=false", "--secure-port=0", "--v=1"],
      join(api.dir, "kube-scheduler.log"),
      {},
      { nsenter: true },
    ),
  ];
}

/** flanneld built from its Go module (lab/flannel/build.sh; cached after the first time). */
export function flannelBinary(): string {
  return execFileSync("bash", [join(REPO_ROOT, "lab/flannel/build.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }).trim();
}

/** Starts every node of a cluster: containerd, the images imported, kubelet and kube-proxy (and flanneld with `flanneld`). */
export async function startNodes(
  lab: LabCore,
  c: LabCluster,
  o: { bin: string; archives: readonly string[]; kubeconfig: string; mode: KubeProxyMode; flanneld?: string },
): Promise<void> {
  await Promise.all(
    c.spec.nodes.map(async (n) => {
      const { paths, process } = await startContainerd(lab.state.dir, c.spec, n);
      c.processes.push(process);
      lab.save();
      await importImages(lab.run, paths, o.archives);
      c.processes.push(startKubelet(o.bin, c.spec, n, paths, o.kubeconfig), startKubeProxy(o.bin, c.spec, n, paths, o.kubeconfig, o.mode));
      if (o.flanneld) c.processes.push(startFlannel(o.flanneld, c.spec, n, paths, o.kubeconfig));
      lab.save();
    }),
  );
}

/** With flannel: waits until every node routes every other node's pod CIDR through flannel's VXLAN device (flannel.1). */
export async function waitFlannel(lab: LabCore, c: LabCluster, ms = 60_000): Promise<void> {
  await until(
    `flannel's routes on the nodes of ${c.spec.id}`,
    async () => {
      for (const p of c.processes) if (p.role.startsWith("flanneld/") && !alive(p.pid)) throw new LabError(`${p.role} of ${c.spec.id} exited; see ${p.log}`);
      const missing: string[] = [];
      for (const n of c.spec.nodes) {
        const r = await lab.run.run("ip", ["-n", n.ns, "-j", "route", "show", "dev", "flannel.1"], { allowFailure: true });
        const dsts = new Set((r.exitCode === 0 ? (JSON.parse(r.stdout || "[]") as { dst: string }[]) : []).map((x) => x.dst));
        for (const o of c.spec.nodes) if (o !== n && !dsts.has(o.podCidr)) missing.push(`${n.name} → ${o.podCidr}`);
      }
      if (missing.length) throw new LabError(`no route yet: ${missing.join(", ")}`);
      return true;
    },
    ms,
  );
}

interface NodeObject {
  metadata: kube.ObjectMeta;
  status?: { conditions?: { type: string; status: string; message?: string }[] };
}

/** Waits until every node of the cluster is Ready; the error names the ones that are not, with kubelet's reason. */
export async function waitNodesReady(client: kube.KubeClient, c: LabCluster, ms = 90_000): Promise<void> {
  await until(
    `nodes of ${c.spec.id} Ready`,
    async () => {
      for (const p of c.processes) if (!alive(p.pid)) throw new LabError(`${p.role} of ${c.spec.id} exited; see ${p.log}`);
      const nodes = await client.list<NodeObject>(kube.R.node);
      const notReady = c.spec.nodes.filter((n) => {
        const o = nodes.items.find((x) => x.metadata.name === n.name);
        return o?.status?.conditions?.find((x) => x.type === "Ready")?.status !== "True";
      });
      if (notReady.length) throw new LabError(`not Ready: ${notReady.map((n) => n.name).join(", ")}`);
      return true;
    },
    ms,
  );
}

/** Applies lab objects (server-side apply, the lab's field manager). */
export async function applyLabObjects(client: kube.KubeClient, objects: readonly LabObject[]): Promise<void> {
  for (const o of objects) await client.apply(kube.R[o.kind as keyof typeof kube.R], o.object, FM);
}

interface PodObject {
  metadata: kube.ObjectMeta;
  spec?: { nodeName?: string };
  status?: {
    phase?: string;
    podIP?: string;
    containerStatuses?: { ready?: boolean; containerID?: string; state?: { waiting?: { reason?: string; message?: string } } }[];
  };
}

/** Pure: why a pod is not running yet, from its status (the waiting reason kubelet gives, else its phase). */
export function podWaiting(p: PodObject): string {
  const w = p.status?.containerStatuses?.find((s) => s.state?.waiting)?.state?.waiting;
  return w ? `${w.reason ?? "waiting"}${w.message ? `: ${w.message}` : ""}` : (p.status?.phase ?? "Pending");
}

/**
 * The lab's test pods, the cluster's DNS (and in the first cluster the broker's volume), then waits
 * until the test pods run with the addresses the topology gives them, and binds each pod's network
 * namespace under the topology's name (ip netns exec, `lab exec c1/n1/p0`, reaches the real pod).
 */
export async function startLabPods(lab: LabCore, client: kube.KubeClient, c: LabCluster, first: boolean): Promise<void> {
  // The broker's database in memory with etcd's (paths.ts, LAB_MEMORY_ROOT).
  const volumes = join(labMemoryDir(lab.state.name), "volumes");
  mkdirSync(volumes, { recursive: true });
  // The test pods first: the first pod on each node takes the address the topology gives (host-local from .10).
  await applyLabObjects(client, [...echoObjects(c.spec), ...(first ? [brokerVolume(join(volumes, "broker"))] : [])]);
  const pods = await until(
    `the test pods of ${c.spec.id} running`,
    async () => {
      const list = await client.list<PodObject>(kube.R.pod, "default", { labelSelector: "app=echo" });
      const waiting = list.items.filter((p) => !p.status?.containerStatuses?.[0]?.ready);
      if (waiting.length) throw new LabError(waiting.map((p) => `${p.metadata.name}: ${podWaiting(p)}`).join("; "));
      return list.items;
    },
    90_000,
  );
  await applyLabObjects(client, corednsObjects(c.spec));
  const tasks = await containerPids(lab, c);
  for (const n of c.spec.nodes) {
    for (const p of n.pods) {
      const pod = pods.find((x) => x.metadata.name === labPodName(n.name, p.name));
      if (pod?.status?.podIP !== p.ip) throw new LabError(`pod ${labPodName(n.name, p.name)} has address ${pod?.status?.podIP}, the topology says ${p.ip}`);
      const id = containerIdOf(pod);
      const pid = tasks.get(id);
      if (!pid) throw new LabError(`no running task for pod ${pod.metadata.name} (container ${id})`);
      await bindNetns(lab, p.ns, pid);
      writePodResolvConf(p.ns, clusterDnsIp(c.spec));
    }
  }
}

/** Pure: the containerd id of a pod's first container ("" before it has one). */
const containerIdOf = (p: PodObject): string => p.status?.containerStatuses?.[0]?.containerID?.replace(/^containerd:\/\//, "") ?? "";

/** Container id → pid of every running task on the cluster's nodes. */
async function containerPids(lab: LabCore, c: LabCluster): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const n of c.spec.nodes) {
    const p = nodePaths(lab.state.dir, c.spec, n);
    const res = await lab.run.run("ctr", ["--address", p.socket, "--namespace", "k8s.io", "tasks", "ls"]);
    for (const line of res.stdout.split("\n").slice(1)) {
      const [id, pid, status] = line.trim().split(/\s+/);
      if (id && pid && status === "RUNNING") out.set(id, Number(pid));
    }
  }
  return out;
}

/** Makes a process's network namespace a named one (/var/run/netns/<name>), as `ip netns attach` does. */
async function bindNetns(lab: LabCore, name: string, pid: number): Promise<void> {
  await lab.run.run("ip", ["netns", "attach", name, String(pid)]);
}

interface WorkloadStatus {
  metadata: kube.ObjectMeta;
  spec?: { replicas?: number };
  status?: { desiredNumberScheduled?: number; numberReady?: number; readyReplicas?: number };
}

/** Pure: the workloads of a list that are not fully ready, as "name ready/wanted". */
export function unready(daemonSets: readonly WorkloadStatus[], deployments: readonly WorkloadStatus[]): string[] {
  return [
    ...daemonSets
      .filter((d) => (d.status?.numberReady ?? 0) < (d.status?.desiredNumberScheduled ?? 1))
      .map((d) => `${d.metadata.name} ${d.status?.numberReady ?? 0}/${d.status?.desiredNumberScheduled ?? "?"}`),
    ...deployments
      .filter((d) => (d.status?.readyReplicas ?? 0) < (d.spec?.replicas ?? 1))
      .map((d) => `${d.metadata.name} ${d.status?.readyReplicas ?? 0}/${d.spec?.replicas ?? 1}`),
  ];
}

/** Waits until every DaemonSet and Deployment of `namespace` is ready; the error names the ones that are not and why their pods wait. */
export async function waitWorkloadsReady(client: kube.KubeClient, namespace: string, ms = 120_000): Promise<void> {
  await until(
    `workloads in ${namespace} ready`,
    async () => {
      const ds = await client.list<WorkloadStatus>(kube.R.daemonSet, namespace);
      const deps = await client.list<WorkloadStatus>(kube.R.deployment, namespace);
      const missing = unready(ds.items, deps.items);
      if (!missing.length && ds.items.length + deps.items.length > 0) return true;
      const why = podProblems((await client.list<PodObject>(kube.R.pod, namespace)).items, await warningEvents(client, namespace));
      throw new LabError(`${missing.join(", ") || "no workloads"}${why.length ? ` (${why.join("; ")})` : ""}`);
    },
    ms,
  );
}

/** Real nodes: the component pod `<component>/<node>` (gateway, route-agent, lighthouse) deleted, and its replacement ready on the same node. */
export async function restartPod(client: kube.KubeClient, role: string, ms = 60_000): Promise<void> {
  const [component = "", node = ""] = role.split("/");
  const selector = { labelSelector: `app.kubernetes.io/name=causeway-${component}`, fieldSelector: `spec.nodeName=${node}` };
  const before = (await client.list<PodObject>(kube.R.pod, SYSTEM_NAMESPACE, selector)).items;
  if (!before.length) throw new ValidationError(`no ${component} pod on node ${node}`);
  for (const p of before) await client.delete(kube.R.pod, SYSTEM_NAMESPACE, p.metadata.name);
  const old = new Set(before.map((p) => p.metadata.uid));
  await until(
    `a new ${component} pod ready on ${node}`,
    async () => {
      const now = (await client.list<PodObject>(kube.R.pod, SYSTEM_NAMESPACE, selector)).items.filter((p) => !old.has(p.metadata.uid));
      const ready = now.find((p) => p.status?.containerStatuses?.every((s) => s.ready));
      if (!ready) throw new LabError(now.map((p) => `${p.metadata.name}: ${podWaiting(p)}`).join("; ") || "no replacement yet");
      return true;
    },
    ms,
  );
}

/** Real nodes: every running pod's first container's process on this host (for its resident memory). */
export async function podPids(lab: LabCore, id: string): Promise<{ namespace: string; pod: string; node: string; pid: number }[]> {
  const c = lab.cluster(id);
  const tasks = await containerPids(lab, c);
  const client = await lab.kubeClient(id);
  try {
    const pods = (await client.list<PodObject>(kube.R.pod)).items;
    return pods.flatMap((p) => {
      const cid = containerIdOf(p);
      const pid = tasks.get(cid);
      return pid ? [{ namespace: p.metadata.namespace ?? "", pod: p.metadata.name, node: p.spec?.nodeName ?? "", pid }] : [];
    });
  } finally {
    client.close();
  }
}

/**
 * A lab service's pods on real nodes (`lab service add`/`scale`): `fresh` pods created and awaited
 * ready (their addresses are the ones the CNI gave them, returned in their order), `gone` pods
 * deleted and awaited gone — so the Service's EndpointSlice lists exactly the pods that remain.
 */
export async function scaleServicePods(
  client: kube.KubeClient,
  clusterId: string,
  svc: LabService,
  fresh: readonly LabServicePod[],
  gone: readonly LabServicePod[],
): Promise<LabServicePod[]> {
  await applyLabObjects(client, labServiceObjects(clusterId, svc, fresh));
  for (const p of gone) await client.delete(kube.R.pod, svc.namespace, p.name);
  const names = new Set(fresh.map((p) => p.name));
  const pods = await until(
    `the pods of ${clusterId}/${svc.namespace}/${svc.name} ready`,
    async () => {
      const list = (await client.list<PodObject>(kube.R.pod, svc.namespace, { labelSelector: `${LAB_SERVICE_LABEL}=${svc.name}` })).items;
      const waiting = list.filter((p) => names.has(p.metadata.name) && !(p.status?.containerStatuses?.[0]?.ready && p.status.podIP));
      const lingering = list.filter((p) => gone.some((g) => g.name === p.metadata.name));
      if (waiting.length || lingering.length)
        throw new LabError([...waiting.map((p) => `${p.metadata.name}: ${podWaiting(p)}`), ...lingering.map((p) => `${p.metadata.name}: deleting`)].join("; "));
      return list;
    },
    90_000,
  );
  return fresh.map((p) => ({ ...p, ip: pods.find((x) => x.metadata.name === p.name)?.status?.podIP ?? p.ip }));
}

/** Real nodes: Causeway's image tagged `ref` too in every node's containerd of the given clusters — an image the nodes have, under another name. */
export async function tagImageOnNodes(lab: LabCore, ref: string, clusterIds: readonly string[]): Promise<void> {
  const full = (r: string) => (r.includes("/") ? r : `docker.io/library/${r}`);
  for (const id of clusterIds) {
    const c = lab.cluster(id);
    for (const n of c.spec.nodes) {
      const { socket } = nodePaths(lab.state.dir, c.spec, n);
      await lab.run.run("ctr", ["--address", socket, "--namespace", "k8s.io", "images", "tag", "--force", full(IMAGE), full(ref)]);
    }
  }
}
