/**
 * `causeway verify --kubeconfig …`: the checks that need pods, like subctl verify's — from Causeway's
 * own image (the nodes have it: its components run from it), in a namespace of their own that is
 * deleted after. A server pod in each cluster answers every TCP connection with the address it
 * saw; a client pod in each cluster connects to the other cluster's server pod, and in a to b's
 * Service by its cluster IP and by its clusterset name, and leaves what it saw in its termination
 * message. The servers prefer nodes that are not gateways (traffic crosses the route agents too).
 */
import { SYSTEM_NAMESPACE } from "@causeway/api";
import { type CheckResult, kube } from "@causeway/common";
import { CheckFailedError } from "../errors.ts";

export const VERIFY_NAMESPACE = "causeway-verify";
const PORT = 8080;
const FM = { fieldManager: "causeway-verify" };

/** The server: answers each connection with "seen <address of the client>". */
const SERVER = `require("net").createServer((s) => s.end("seen " + s.remoteAddress.replace(/^::ffff:/, "") + "\\n")).listen(${PORT})`;
/** The client: connects to each target (host:port, argv), records what the server answered, writes it as its termination message. */
const CLIENT = `
const net = require("net"), fs = require("fs");
const one = (t) => new Promise((res) => {
  const [host, port] = [t.slice(0, t.lastIndexOf(":")), Number(t.slice(t.lastIndexOf(":") + 1))];
  let out = "";
  const s = net.connect({ host, port, timeout: 2000 });
  s.on("data", (d) => (out += d));
  s.on("end", () => res({ target: t, answer: out.trim() }));
  s.on("timeout", () => { s.destroy(); res({ target: t, error: "timeout" }); });
  s.on("error", (e) => res({ target: t, error: e.code || e.message }));
});
(async () => {
  const results = [];
  for (const t of process.argv.slice(1)) {
    let r;
    // Up to 20 s a target: a fresh export takes a moment to reach the other cluster's DNS.
    const t0 = Date.now();
    for (const end = t0 + 20000; ; ) { r = await one(t); if (r.answer || Date.now() > end) break; await new Promise((x) => setTimeout(x, 1000)); }
    results.push({ ...r, ms: Date.now() - t0 });
  }
  fs.writeFileSync("/dev/termination-log", JSON.stringify({ self: process.env.POD_IP, results }));
})();`;

interface PodStatus {
  metadata: kube.ObjectMeta;
  status?: {
    phase?: string;
    podIP?: string;
    containerStatuses?: { ready?: boolean; state?: { waiting?: { reason?: string }; terminated?: { message?: string } } }[];
  };
}

/** The image Causeway's gateway runs in this cluster (its nodes have it), for the test pods. */
async function componentImage(c: kube.KubeClient): Promise<string> {
  const ds = await c.get<{ spec: { template: { spec: { containers: { image: string }[] } } } }>(kube.R.daemonSet, SYSTEM_NAMESPACE, "causeway-gateway");
  const image = ds.spec.template.spec.containers[0]?.image;
  if (!image) throw new CheckFailedError("the causeway-gateway DaemonSet names no image");
  return image;
}

/** A pod of the image running `script` (node -e), preferring nodes without the gateway label. */
function pod(name: string, image: string, script: string, args: readonly string[], role: string) {
  return {
    metadata: { name, namespace: VERIFY_NAMESPACE, labels: { "app.kubernetes.io/part-of": "causeway-verify", "causeway-verify/role": role } },
    spec: {
      restartPolicy: role === "server" ? "Always" : "Never",
      automountServiceAccountToken: false,
      terminationGracePeriodSeconds: 1,
      affinity: {
        nodeAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            { weight: 100, preference: { matchExpressions: [{ key: "causeway.io/gateway", operator: "DoesNotExist" }] } },
          ],
        },
      },
      containers: [
        {
          name: role,
          image,
          imagePullPolicy: "IfNotPresent",
          command: ["node", "-e", script, ...args],
          env: [{ name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } }],
          ...(role === "server" ? { readinessProbe: { tcpSocket: { port: PORT }, periodSeconds: 1 } } : {}),
        },
      ],
    },
  };
}

async function waitPod(c: kube.KubeClient, name: string, done: (p: PodStatus) => boolean, timeoutMs: number): Promise<PodStatus> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const p = await c.get<PodStatus>(kube.R.pod, VERIFY_NAMESPACE, name);
    if (done(p)) return p;
    const waiting = p.status?.containerStatuses?.[0]?.state?.waiting?.reason;
    if (Date.now() > end)
      throw new CheckFailedError(`pod ${VERIFY_NAMESPACE}/${name} not there within ${timeoutMs / 1000} s (${waiting ?? p.status?.phase ?? "pending"})`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Pure: a check from a client's report — the target answered, and saw the client pod's own address (source kept). */
export function sourceCheck(report: { self?: string; results: { target: string; answer?: string; error?: string; ms?: number }[] }, target: string): string {
  const r = report.results.find((x) => x.target === target);
  if (!r?.answer) throw new CheckFailedError(`no answer from ${target}${r?.ms ? ` within ${Math.round(r.ms / 1000)} s` : ""}: ${r?.error ?? "not tried"}`);
  const seen = r.answer.replace(/^seen /, "");
  if (seen !== report.self)
    throw new CheckFailedError(`${target} saw ${seen}, not the client pod's ${report.self ?? "?"}: its source address was rewritten on the way`);
  return `answered in ${r.ms ?? 0} ms, saw ${seen}`;
}

type Check = (name: string, f: () => Promise<string>) => Promise<CheckResult>;

/** Waits while an earlier run's namespace is still being deleted (bounded). */
export async function namespaceGone(c: kube.KubeClient, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const ns = await c.find<{ metadata: { deletionTimestamp?: string } }>(kube.R.namespace, undefined, VERIFY_NAMESPACE);
    if (!ns?.metadata.deletionTimestamp) return;
    if (Date.now() > end) throw new CheckFailedError(`namespace ${VERIFY_NAMESPACE} is still being deleted after ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/**
 * The pod checks between a and b (ids for the names), everything made removed after. `service`:
 * b's Service name for the by-name check, exported in b by the caller's discovery check, or "".
 */
export async function verifyPods(
  a: kube.KubeClient,
  b: kube.KubeClient,
  ids: readonly [string, string],
  check: Check,
  timeoutMs: number,
): Promise<CheckResult[]> {
  const [ia, ib] = ids;
  const out: CheckResult[] = [];
  const made: (() => Promise<unknown>)[] = [];
  let setup: CheckResult | undefined;
  try {
    const images = [await componentImage(a), await componentImage(b)] as const;
    for (const c of [a, b]) {
      await namespaceGone(c, timeoutMs);
      await c.apply(kube.R.namespace, { metadata: { name: VERIFY_NAMESPACE, labels: { "app.kubernetes.io/part-of": "causeway-verify" } } }, FM);
      made.push(() => c.delete(kube.R.namespace, undefined, VERIFY_NAMESPACE));
    }
    await a.create(kube.R.pod, pod("server", images[0], SERVER, [], "server"));
    await b.create(kube.R.pod, pod("server", images[1], SERVER, [], "server"));
    await b.create(kube.R.service, {
      metadata: { name: "server", namespace: VERIFY_NAMESPACE },
      ...{ spec: { selector: { "causeway-verify/role": "server" }, ports: [{ name: "tcp", port: PORT, protocol: "TCP" }] } },
    });
    await b.create(kube.R.serviceExport, { metadata: { name: "server", namespace: VERIFY_NAMESPACE } });
    const ready = (p: PodStatus) => p.status?.containerStatuses?.[0]?.ready === true;
    const [sa, sb] = [await waitPod(a, "server", ready, timeoutMs), await waitPod(b, "server", ready, timeoutMs)];
    const svc = await b.get<{ spec?: { clusterIP?: string } }>(kube.R.service, VERIFY_NAMESPACE, "server");
    const byName = `server.${VERIFY_NAMESPACE}.svc.clusterset.local:${PORT}`;
    const targets = { pod: `${sb.status?.podIP}:${PORT}`, service: `${svc.spec?.clusterIP}:${PORT}` };
    await a.create(kube.R.pod, pod("client", images[0], CLIENT, [targets.pod, targets.service, byName], "client"));
    await b.create(kube.R.pod, pod("client", images[1], CLIENT, [`${sa.status?.podIP}:${PORT}`], "client"));
    const finished = (p: PodStatus) => p.status?.phase === "Succeeded" || p.status?.phase === "Failed";
    const report = async (c: kube.KubeClient) =>
      JSON.parse((await waitPod(c, "client", finished, timeoutMs + 40_000)).status?.containerStatuses?.[0]?.state?.terminated?.message ?? "{}") as Parameters<
        typeof sourceCheck
      >[0];
    const reports: Parameters<typeof sourceCheck>[0][] = [];
    setup = await check(`test pods in ${ia} and ${ib} (image ${images[0]})`, async () => {
      reports.push(await report(a), await report(b));
      return "ran";
    });
    const [ra = { results: [] }, rb = { results: [] }] = reports;
    out.push(setup);
    out.push(await check(`pod in ${ia} → pod in ${ib}, source address kept`, async () => sourceCheck(ra, targets.pod)));
    out.push(await check(`pod in ${ib} → pod in ${ia}, source address kept`, async () => sourceCheck(rb, `${sa.status?.podIP}:${PORT}`)));
    out.push(await check(`pod in ${ia} → ${ib}'s Service by its cluster IP, source address kept`, async () => sourceCheck(ra, targets.service)));
    out.push(
      await check(`pod in ${ia} → ${ib}'s Service by its clusterset name`, async () => sourceCheck(ra, byName).replace(/^answered/, `resolved and answered`)),
    );
    return out;
  } catch (err) {
    // The test pods could not be set up: one failing check says why (an image the nodes lack, no node to run on).
    return [...out, await check(`test pods in ${ia} and ${ib}`, () => Promise.reject(err instanceof Error ? err : new Error(String(err))))];
  } finally {
    for (const undo of made.reverse()) await undo().catch(() => undefined);
    // Gone when verify returns: nothing left behind, and a next run starts clean.
    for (const c of [a, b]) await namespaceGone(c, timeoutMs).catch(() => undefined);
  }
}
