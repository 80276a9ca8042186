/**
 * `causeway verify --kubeconfig … --context a,b`: what can be checked through the two clusters'
 * own APIs, a check each — both joined to one broker, each holds the other's Endpoint, each
 * active gateway reports its connection to the other as connected, and (unless --no-discovery)
 * a Service exported in b becomes a ServiceImport in a and goes again when unexported; then, unless
 * --no-pods, the traffic checks from test pods (pods.ts).
 */
import { SYSTEM_NAMESPACE } from "@causeway/api";
import { kube } from "@causeway/common";
import type { CheckResult } from "@causeway/common";
import { viewFromKube } from "../show/kube.ts";
import { CheckFailedError } from "../errors.ts";
import { inTestNamespace } from "../kube/testpods.ts";
import { verifyPods } from "./pods.ts";

const NS = "causeway-verify";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function check(name: string, f: () => Promise<string>): Promise<CheckResult> {
  const t0 = Date.now();
  try {
    return { name, ok: true, detail: await f(), ms: Date.now() - t0 };
  } catch (err) {
    return { name, ok: false, detail: err instanceof Error ? err.message : String(err), ms: Date.now() - t0 };
  }
}

async function waitUntil<T>(what: string, f: () => Promise<T | undefined>, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new CheckFailedError(`${what}: not within ${ms / 1000} s`);
    await sleep(250);
  }
}

/** The API checks between two member clusters; `clients` are [a, b]. */
export async function verifyKube(
  a: kube.KubeClient,
  b: kube.KubeClient,
  o: { discovery: boolean; pods?: boolean; timeoutMs?: number },
): Promise<CheckResult[]> {
  const timeoutMs = o.timeoutMs ?? 30_000;
  const [ca, cb] = [await kube.loadJoinedCluster(a, SYSTEM_NAMESPACE, false), await kube.loadJoinedCluster(b, SYSTEM_NAMESPACE, false)];
  const out: CheckResult[] = [];
  out.push(
    await check(`${ca.clusterId} and ${cb.clusterId} are members of one clusterset`, async () => {
      if (ca.brokerAddress !== cb.brokerAddress)
        throw new CheckFailedError(`they joined different brokers (${ca.brokerAddress}, ${cb.brokerAddress}): join both with the same broker-info`);
      return ca.brokerAddress;
    }),
  );
  for (const [from, to, client] of [
    [ca.clusterId, cb.clusterId, a],
    [cb.clusterId, ca.clusterId, b],
  ] as const) {
    out.push(
      await check(`${from} holds ${to}'s gateway endpoint`, async () => {
        const view = await viewFromKube(client);
        const ep = view.endpoints.find((e) => e.endpoint.cluster_id === to);
        if (!ep) throw new CheckFailedError(`no Endpoint of ${to} in ${from}: is ${to}'s gateway running ('causeway show gateways --context ${to}')?`);
        return ep.endpoint.cable_name;
      }),
    );
    out.push(
      await check(`${from} → ${to} gateway connection`, async () =>
        waitUntil(
          `${from}'s active gateway connected to ${to}`,
          async () => {
            const view = await viewFromKube(client);
            const active = view.gateways.find((g) => g.status.haStatus === "active");
            const c = active?.status.connections.find((x) => x.endpoint.cluster_id === to);
            return c?.status === "connected" ? `connected via ${c.usingIP}` : undefined;
          },
          timeoutMs,
        ),
      ),
    );
  }
  if (o.discovery) out.push(await check(`a Service exported in ${cb.clusterId} is imported in ${ca.clusterId}`, () => exportRoundTrip(a, b, timeoutMs)));
  if (o.pods !== false) out.push(...(await verifyPods(a, b, [ca.clusterId, cb.clusterId], check, timeoutMs)));
  return out;
}

/** Service + ServiceExport in b → ServiceImport in a; then unexported → gone. Everything made is removed. */
async function exportRoundTrip(a: kube.KubeClient, b: kube.KubeClient, timeoutMs: number): Promise<string> {
  const name = `verify-${Date.now().toString(36)}`;
  // The namespace goes after, with everything in it.
  return inTestNamespace([a, b], NS, timeoutMs, async () => {
    await b.create(kube.R.service, { metadata: { name, namespace: NS }, ...{ spec: { ports: [{ name: "http", port: 80, protocol: "TCP" }] } } });
    await b.create(kube.R.serviceExport, { metadata: { name, namespace: NS } });
    const t0 = Date.now();
    await waitUntil(`ServiceImport ${NS}/${name}`, async () => ((await a.find(kube.R.serviceImport, NS, name)) ? true : undefined), timeoutMs);
    const took = Date.now() - t0;
    await b.delete(kube.R.serviceExport, NS, name);
    await waitUntil(
      `ServiceImport ${NS}/${name} gone after the unexport`,
      async () => ((await a.find(kube.R.serviceImport, NS, name)) ? undefined : true),
      timeoutMs,
    );
    return `imported in ${took} ms, gone again after the unexport`;
  });
}
