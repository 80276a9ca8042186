/**
 * Test pods for the CLI's checks on real clusters (`verify`, `benchmark`, `diagnose firewall`
 * with --kubeconfig): pods of Causeway's own image (the nodes have it: its components run from
 * it) running a Node script, in a namespace of the check's own that is deleted after. A pod
 * reports what it found in its termination message.
 */
import { SYSTEM_NAMESPACE } from "@causeway/api";
import { kube } from "@causeway/common";
import { CheckFailedError } from "../errors.ts";

export interface PodStatus {
  metadata: kube.ObjectMeta;
  spec?: { nodeName?: string };
  status?: {
    phase?: string;
    podIP?: string;
    containerStatuses?: { ready?: boolean; state?: { waiting?: { reason?: string }; terminated?: { message?: string; exitCode?: number } } }[];
  };
}

/** The image Causeway's gateway runs in this cluster (its nodes have it), for the test pods. */
export async function componentImage(c: kube.KubeClient): Promise<string> {
  const ds = await c.get<{ spec: { template: { spec: { containers: { image: string }[] } } } }>(kube.R.daemonSet, SYSTEM_NAMESPACE, "causeway-gateway");
  const image = ds.spec.template.spec.containers[0]?.image;
  if (!image) throw new CheckFailedError("the causeway-gateway DaemonSet names no image");
  return image;
}

export interface TestPodSpec {
  readonly name: string;
  readonly namespace: string;
  readonly image: string;
  /** The Node script (node -e) and its arguments. */
  readonly script: string;
  readonly args?: readonly string[];
  /** Instead of the script: this command (e.g. the image's own CLI, `node /app/causeway.mjs …`). */
  readonly command?: readonly string[];
  /** "server" pods restart and are ready once `readyPort` accepts; others run once. */
  readonly role: string;
  readonly readyPort?: number;
  /** Ready once the script has made this file (when it listens on no port). */
  readonly readyFile?: string;
  /** Pinned to this node; otherwise nodes without the gateway label are preferred (traffic crosses the route agents too). */
  readonly node?: string;
  /** The node's network namespace (a check of the node's own traffic, e.g. from its gateway). */
  readonly hostNetwork?: boolean;
  readonly capabilities?: readonly string[];
}

/** Pure: the Pod object of a test pod. */
export function testPod(s: TestPodSpec) {
  const placement = s.node
    ? { nodeName: s.node }
    : {
        affinity: {
          nodeAffinity: {
            preferredDuringSchedulingIgnoredDuringExecution: [
              { weight: 100, preference: { matchExpressions: [{ key: "causeway.io/gateway", operator: "DoesNotExist" }] } },
            ],
          },
        },
      };
  return {
    metadata: { name: s.name, namespace: s.namespace, labels: { "app.kubernetes.io/part-of": s.namespace, [`${s.namespace}/role`]: s.role } },
    spec: {
      restartPolicy: s.role === "server" ? "Always" : "Never",
      automountServiceAccountToken: false,
      terminationGracePeriodSeconds: 1,
      ...(s.hostNetwork ? { hostNetwork: true } : {}),
      ...placement,
      containers: [
        {
          name: s.role,
          image: s.image,
          imagePullPolicy: "IfNotPresent",
          command: s.command ? [...s.command] : ["node", "-e", s.script, ...(s.args ?? [])],
          env: [{ name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } }],
          ...(s.readyPort ? { readinessProbe: { tcpSocket: { port: s.readyPort }, periodSeconds: 1 } } : {}),
          ...(s.readyFile ? { readinessProbe: { exec: { command: ["test", "-e", s.readyFile] }, periodSeconds: 1 } } : {}),
          ...(s.capabilities?.length ? { securityContext: { capabilities: { add: [...s.capabilities] } } } : {}),
        },
      ],
    },
  };
}

/** Waits until the pod satisfies `done`; CheckFailedError naming why it waits after `timeoutMs`. */
export async function waitPod(c: kube.KubeClient, namespace: string, name: string, done: (p: PodStatus) => boolean, timeoutMs: number): Promise<PodStatus> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const p = await c.get<PodStatus>(kube.R.pod, namespace, name);
    if (done(p)) return p;
    const waiting = p.status?.containerStatuses?.[0]?.state?.waiting?.reason;
    if (Date.now() > end)
      throw new CheckFailedError(`pod ${namespace}/${name} not there within ${timeoutMs / 1000} s (${waiting ?? p.status?.phase ?? "pending"})`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** An EndpointSlice as far as the checks read it. */
export interface SliceStatus {
  endpoints?: { addresses?: string[]; conditions?: { ready?: boolean } }[];
}

/** Pure: undefined when one of a Service's EndpointSlices has a ready endpoint, otherwise what they show. */
export function slicesVerdict(slices: readonly SliceStatus[]): string | undefined {
  const endpoints = slices.flatMap((s) => s.endpoints ?? []);
  if (endpoints.some((e) => e.conditions?.ready === true)) return undefined;
  return slices.length ? `${endpoints.length} endpoint(s), none ready` : "no EndpointSlice";
}

/**
 * Waits (bounded) until Service `name` has a ready endpoint in its EndpointSlices, that is until
 * the cluster's EndpointSlice controller has seen its ready pod: what kube-proxy and the lighthouse
 * act on. Returns undefined once it has, otherwise what was seen, for the checks' messages.
 */
export async function serviceEndpointsReady(c: kube.KubeClient, namespace: string, name: string, timeoutMs: number): Promise<string | undefined> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const slices = await c.list<SliceStatus>(kube.R.endpointSlice, namespace, { labelSelector: `kubernetes.io/service-name=${name}` });
    const verdict = slicesVerdict(slices.items);
    if (!verdict) return undefined;
    if (Date.now() > end)
      return `Service ${namespace}/${name} has ${verdict} after ${Math.round(timeoutMs / 1000)} s although its pod is ready: is the cluster's kube-controller-manager running?`;
    await new Promise((r) => setTimeout(r, 500));
  }
}

export const podReady = (p: PodStatus): boolean => p.status?.containerStatuses?.[0]?.ready === true;
export const podFinished = (p: PodStatus): boolean => p.status?.phase === "Succeeded" || p.status?.phase === "Failed";

/** A finished pod's report: its termination message as JSON ({} when it wrote none). */
export async function podReport<T>(c: kube.KubeClient, namespace: string, name: string, timeoutMs: number): Promise<Partial<T>> {
  const p = await waitPod(c, namespace, name, podFinished, timeoutMs);
  const message = p.status?.containerStatuses?.[0]?.state?.terminated?.message ?? "";
  try {
    return JSON.parse(message || "{}") as Partial<T>;
  } catch {
    throw new CheckFailedError(`pod ${namespace}/${name} ended without a report: ${message.slice(0, 300)}`);
  }
}

/** Waits while an earlier run's namespace is still being deleted (bounded). */
export async function namespaceGone(c: kube.KubeClient, namespace: string, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const ns = await c.find<{ metadata: { deletionTimestamp?: string } }>(kube.R.namespace, undefined, namespace);
    if (!ns?.metadata.deletionTimestamp) return;
    if (Date.now() > end) throw new CheckFailedError(`namespace ${namespace} is still being deleted after ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/**
 * Runs `f` with the check's namespace made in each cluster of `clients` (waiting out an earlier
 * run's deletion first), and deletes it after — also when `f` fails — waiting until it is gone,
 * so that nothing is left behind and a next run starts clean.
 */
export async function inTestNamespace<T>(clients: readonly kube.KubeClient[], namespace: string, timeoutMs: number, f: () => Promise<T>): Promise<T> {
  const made: kube.KubeClient[] = [];
  try {
    for (const c of new Set(clients)) {
      await namespaceGone(c, namespace, timeoutMs);
      await c.apply(kube.R.namespace, { metadata: { name: namespace, labels: { "app.kubernetes.io/part-of": namespace } } }, { fieldManager: namespace });
      made.push(c);
    }
    return await f();
  } finally {
    for (const c of made) await c.delete(kube.R.namespace, undefined, namespace).catch(() => undefined);
    for (const c of made) await namespaceGone(c, namespace, timeoutMs).catch(() => undefined);
  }
}
