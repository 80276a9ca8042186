/**
 * join's wait for Causeway's pods: until every workload it applied has rolled out (its pods from
 * the template applied, ready), bounded in time. A pod whose image the node cannot get fails the
 * wait at once, naming the pods, the image and what to do.
 */
import { CausewayError } from "@causeway/api";
import { kube } from "@causeway/common";

/** Causeway's pods did not come up; the cluster stays registered at the broker (a re-run continues). Exit 1. */
export class RolloutError extends CausewayError {
  override name = "RolloutError";
}

export interface WorkloadObject {
  metadata: kube.ObjectMeta & { generation?: number };
  spec?: { replicas?: number };
  status?: {
    observedGeneration?: number;
    desiredNumberScheduled?: number;
    updatedNumberScheduled?: number;
    numberAvailable?: number;
    replicas?: number;
    updatedReplicas?: number;
    availableReplicas?: number;
  };
}

type ContainerState = { waiting?: { reason?: string; message?: string }; terminated?: { exitCode?: number; reason?: string; message?: string } };

type ContainerStatusObject = { name?: string; image?: string; ready?: boolean; restartCount?: number; state?: ContainerState; lastState?: ContainerState };

export interface PodObject {
  metadata: kube.ObjectMeta;
  spec?: { nodeName?: string; containers?: { image: string }[]; initContainers?: { image: string }[] };
  /** initContainerStatuses: the gateway's WireGuard keeper (a native sidecar) is one. */
  status?: { containerStatuses?: ContainerStatusObject[]; initContainerStatuses?: ContainerStatusObject[] };
}

/**
 * Pure: the gist of a container's termination message. The components' containers fall back to
 * the tail of their log (terminationMessagePolicy FallbackToLogsOnError), JSON lines from pino:
 * the last line's error, else its message; plain text as it is (last line).
 */
export function terminationGist(message: string | undefined): string {
  const last = (message ?? "").trim().split("\n").pop()?.trim() ?? "";
  try {
    const j = JSON.parse(last) as { err?: unknown; msg?: unknown };
    const err =
      typeof j.err === "string" ? j.err : typeof (j.err as { message?: unknown })?.message === "string" ? String((j.err as { message: string }).message) : "";
    return err || (typeof j.msg === "string" ? j.msg : last);
  } catch {
    return last;
  }
}

type ContainerStatus = ContainerStatusObject;

/** Waiting reasons that say only that the pod has not started yet (its volumes, its sandbox): the pod's events say why. */
const NOT_STARTED = new Set(["PodInitializing", "ContainerCreating"]);

/**
 * Pure: the container of a pod to blame for it not being ready: a sidecar or init container that
 * failed or waits for its own reason (the others wait for it; named then), else the first main
 * container not ready — or undefined.
 */
function notReady(p: PodObject): { s: ContainerStatus; init: boolean } | undefined {
  const init = (p.status?.initContainerStatuses ?? []).find((c) => {
    const { waiting, terminated } = states(c);
    return !c.ready && (terminated.exitCode !== undefined || (waiting.reason !== undefined && !NOT_STARTED.has(waiting.reason)));
  });
  if (init) return { s: init, init: true };
  const main = (p.status?.containerStatuses ?? []).find((c) => !c.ready);
  return main ? { s: main, init: false } : undefined;
}

/** Pure: a container's current waiting state and its current or last termination. */
function states(s: ContainerStatus | undefined): Required<ContainerState> {
  return { waiting: s?.state?.waiting ?? {}, terminated: s?.state?.terminated ?? s?.lastState?.terminated ?? {} };
}

/** Pure: why one container is not ready ("reason (exit N) — what it last said"). */
function containerProblem(s: ContainerStatus | undefined): string {
  const { waiting, terminated } = states(s);
  const reason = waiting.reason ?? terminated.reason ?? "not ready";
  const exit = terminated.exitCode === undefined ? "" : ` (exit ${terminated.exitCode})`;
  const said = terminationGist(terminated.message) || (waiting.message ?? "");
  return said ? `${reason}${exit} — ${said}` : `${reason}${exit}`;
}

/** A Kubernetes Event, as much of it as says why a pod waits. */
export interface EventObject {
  involvedObject?: { kind?: string; name?: string; uid?: string };
  type?: string;
  reason?: string;
  message?: string;
  lastTimestamp?: string;
  eventTime?: string;
}

/**
 * Pure: why each pod that is not ready is not ("pod on node: reason — what its container last
 * said"). A container that never started (ContainerCreating: a volume the node cannot provide, a
 * sandbox it cannot make) says nothing itself: the newest Warning event about its pod does.
 */
export function podProblems(pods: readonly PodObject[], events: readonly EventObject[] = []): string[] {
  return pods
    .filter((p) => {
      const cs = p.status?.containerStatuses ?? [];
      return !cs.length || !cs.every((s) => s.ready);
    })
    .map((p) => {
      const first = notReady(p);
      const said = `${first?.init ? `container ${first.s.name ?? "?"}: ` : ""}${containerProblem(first?.s)}`;
      const warning = said.includes(" — ") ? undefined : newestWarning(p, events);
      return `${p.metadata.name} on ${p.spec?.nodeName ?? "(not scheduled)"}: ${said}${warning ? ` — ${warning}` : ""}`;
    });
}

/** Pure: the newest Warning event's "reason: message" about a pod (by uid, else name). */
function newestWarning(p: PodObject, events: readonly EventObject[]): string | undefined {
  const about = events.filter(
    (e) =>
      e.type === "Warning" &&
      e.involvedObject?.kind === "Pod" &&
      (p.metadata.uid && e.involvedObject.uid ? e.involvedObject.uid === p.metadata.uid : e.involvedObject.name === p.metadata.name),
  );
  const when = (e: EventObject) => e.lastTimestamp ?? e.eventTime ?? "";
  const e = about.sort((a, b) => when(b).localeCompare(when(a)))[0];
  return e ? `${e.reason ?? "Warning"}: ${(e.message ?? "").trim()}` : undefined;
}

/** The Warning events of a namespace (none when the caller may not list them: the pods' own states still say what they can). */
export async function warningEvents(client: kube.KubeClient, namespace: string): Promise<EventObject[]> {
  try {
    return (await client.list<EventObject>(kube.R.event, namespace, { fieldSelector: "type=Warning" })).items;
  } catch {
    return [];
  }
}

/** The waiting reasons that mean the node cannot get the image (no registry, a wrong name, policy Never). */
const IMAGE_REASONS = new Set(["ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull", "InvalidImageName"]);

/** Pure: each container status of a pod (init and sidecar containers first) with its container's spec. */
function withSpecs(p: PodObject): { s: ContainerStatus; spec: { image: string } | undefined }[] {
  return [
    ...(p.status?.initContainerStatuses ?? []).map((s, i) => ({ s, spec: p.spec?.initContainers?.[i] })),
    ...(p.status?.containerStatuses ?? []).map((s, i) => ({ s, spec: p.spec?.containers?.[i] })),
  ];
}

/** Pure: pods waiting because their node cannot get the image: "pod on node: reason (image)". */
export function imageProblems(pods: readonly PodObject[]): { lines: string[]; images: string[] } {
  const lines: string[] = [];
  const images = new Set<string>();
  for (const p of pods) {
    for (const { s, spec } of withSpecs(p)) {
      const w = s.state?.waiting;
      if (!w?.reason || !IMAGE_REASONS.has(w.reason)) continue;
      const image = spec?.image ?? s.image ?? "?";
      images.add(image);
      lines.push(`${p.metadata.name} on ${p.spec?.nodeName ?? "?"}: ${w.reason} (${image})`);
    }
  }
  return { lines, images: [...images] };
}

/** Pure: a DaemonSet's pods are the current template's and available on every node it schedules to. */
function daemonSetDone(d: WorkloadObject): boolean {
  const st = d.status ?? {};
  const want = st.desiredNumberScheduled ?? 0;
  return (st.observedGeneration ?? 0) >= (d.metadata.generation ?? 0) && (st.updatedNumberScheduled ?? 0) >= want && (st.numberAvailable ?? 0) >= want;
}

/** Pure: a Deployment's replicas are all the current template's and available, the old ones gone. */
function deploymentDone(d: WorkloadObject): boolean {
  const st = d.status ?? {};
  const want = d.spec?.replicas ?? 1;
  const fresh = (st.observedGeneration ?? 0) >= (d.metadata.generation ?? 0);
  return fresh && (st.updatedReplicas ?? 0) >= want && (st.availableReplicas ?? 0) >= want && (st.replicas ?? 0) <= want;
}

/** Pure: each workload not rolled out yet, as "kind/name available/wanted". */
export function notRolledOut(daemonSets: readonly WorkloadObject[], deployments: readonly WorkloadObject[]): string[] {
  return [
    ...daemonSets
      .filter((d) => !daemonSetDone(d))
      .map((d) => `daemonset/${d.metadata.name} ${d.status?.numberAvailable ?? 0}/${d.status?.desiredNumberScheduled ?? 0}`),
    ...deployments.filter((d) => !deploymentDone(d)).map((d) => `deployment/${d.metadata.name} ${d.status?.availableReplicas ?? 0}/${d.spec?.replicas ?? 1}`),
  ];
}

const KEPT = "the cluster stays registered at the broker, so running join again continues from here";

/** Waits until the named workloads of `namespace` have rolled out; RolloutError at once for images the nodes cannot get, or after `timeoutMs`. */
export async function waitRollout(
  client: kube.KubeClient,
  namespace: string,
  names: readonly string[],
  timeoutMs: number,
  o: { pollMs?: number; say?: (line: string) => void } = {},
): Promise<void> {
  const end = Date.now() + timeoutMs;
  const mine = <T extends { metadata: kube.ObjectMeta }>(xs: readonly T[]) => xs.filter((x) => names.includes(x.metadata.name));
  for (;;) {
    const ds = mine((await client.list<WorkloadObject>(kube.R.daemonSet, namespace)).items);
    const deps = mine((await client.list<WorkloadObject>(kube.R.deployment, namespace)).items);
    const pods = (await client.list<PodObject>(kube.R.pod, namespace, { labelSelector: "app.kubernetes.io/part-of=causeway" })).items;
    const images = imageProblems(pods);
    if (images.lines.length)
      throw new RolloutError(
        `the nodes cannot get the image ${images.images.join(", ")}: ${images.lines.join("; ")}. Load it on every node (ctr -n k8s.io images import <archive>, docker load, kind load image-archive), or join again with --image-override <an image the nodes have>; ${KEPT}`,
      );
    const pending = notRolledOut(ds, deps);
    if (!pending.length) return;
    if (Date.now() > end) {
      const why = podProblems(pods, await warningEvents(client, namespace));
      throw new RolloutError(
        `Causeway's pods are not ready after ${Math.round(timeoutMs / 1000)} s: ${pending.join(", ")}${why.length ? ` (${why.join("; ")})` : ""}; see kubectl -n ${namespace} describe pods, or causeway diagnose; ${KEPT}`,
      );
    }
    await new Promise((r) => setTimeout(r, o.pollMs ?? 1000));
  }
}
