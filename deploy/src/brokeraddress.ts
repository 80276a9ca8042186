/**
 * Where members and the operator reach the broker: deploy-broker's choice from its Service (a
 * NodePort on nodes' addresses by default), or the operator's --broker-url (a host alone takes
 * the Service's port).
 */
import { ValidationError } from "@causeway/api";
import { kube } from "@causeway/common";
import { DeployError } from "./errors.ts";
import { BROKER_NAMESPACE, BROKER_PORT } from "./manifests.ts";

export interface BrokerServiceObject {
  spec?: { type?: string; clusterIP?: string; ports?: { port: number; nodePort?: number }[] };
  status?: { loadBalancer?: { ingress?: { ip?: string; hostname?: string }[] } };
}

export interface NodeObject {
  metadata: { name: string };
  status?: { addresses?: { type: string; address: string }[]; conditions?: { type: string; status: string }[] };
}

/** The address and how it was chosen (said to the operator). */
export interface BrokerAddress {
  readonly url: string;
  readonly how: string;
}

/** Pure: the port members dial on the Service's address: the NodePort for NodePort, else the Service port. */
export function servicePort(svc: BrokerServiceObject): number {
  const p = svc.spec?.ports?.[0];
  return svc.spec?.type === "NodePort" ? (p?.nodePort ?? BROKER_PORT) : (p?.port ?? BROKER_PORT);
}

const hasPort = (url: string) => /:\d+$/.test(url) && !/^[0-9a-f:]+$/i.test(url.replace(/^\[|\]$/g, ""));

/** Pure: --broker-url as given (host:port, or several replicas), or a host alone with the Service's port. */
export function givenAddress(url: string, svc: BrokerServiceObject): BrokerAddress {
  if (url.includes(",") || hasPort(url)) return { url, how: "--broker-url" };
  return { url: `${url}:${servicePort(svc)}`, how: `--broker-url with the Service's ${svc.spec?.type === "NodePort" ? "NodePort" : "port"}` };
}

/** How many nodes' addresses broker-info lists for a NodePort: members dial whichever answers. */
export const NODEPORT_ADDRESSES = 3;

/**
 * Pure: a NodePort's addresses — every node answers on it, so up to NODEPORT_ADDRESSES nodes'
 * (Ready first, then by name, for a stable choice), and one node's failure (its link down, the
 * node gone) leaves members another address. ExternalIPs when any node has one, else
 * InternalIPs. Undefined when no node has an address.
 */
export function nodePortAddress(nodes: readonly NodeObject[], port: number): BrokerAddress | undefined {
  const ready = (n: NodeObject) => n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") === true;
  const sorted = [...nodes].sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1));
  const ordered = [...sorted.filter(ready), ...sorted.filter((x) => !ready(x))];
  for (const kind of ["ExternalIP", "InternalIP"]) {
    const picked = ordered
      .map((n) => ({ node: n.metadata.name, a: n.status?.addresses?.find((x) => x.type === kind)?.address }))
      .filter((x): x is { node: string; a: string } => Boolean(x.a))
      .slice(0, NODEPORT_ADDRESSES);
    if (!picked.length) continue;
    const url = picked.map(({ a }) => `${a.includes(":") ? `[${a}]` : a}:${port}`).join(",");
    const names = picked.map((x) => x.node);
    const whose = names.length === 1 ? `node ${names[0]}'s ${kind}` : `nodes ${names.join(", ")}'s ${kind}s`;
    return { url, how: `${whose}, the Service's NodePort` };
  }
  return undefined;
}

/** deploy-broker's choice of the broker's address for its Service (applied already). */
export async function brokerAddress(client: kube.KubeClient, given: string | undefined, timeoutMs = 60_000): Promise<BrokerAddress> {
  const svc = await client.get<BrokerServiceObject>(kube.R.service, BROKER_NAMESPACE, "causeway-broker");
  if (given) return givenAddress(given, svc);
  const type = svc.spec?.type ?? "ClusterIP";
  if (type === "NodePort") {
    const nodes = await client.list<NodeObject>(kube.R.node);
    const a = nodePortAddress(nodes.items, servicePort(svc));
    if (!a)
      throw new DeployError(
        "no node of this cluster has an address for the broker's NodePort; pass --broker-url <host> (an address of a node) or --service-type LoadBalancer",
      );
    return a;
  }
  if (type === "LoadBalancer") return loadBalancerAddress(client, svc, timeoutMs);
  return {
    url: `${svc.spec?.clusterIP ?? `causeway-broker.${BROKER_NAMESPACE}.svc`}:${BROKER_PORT}`,
    how: "the Service's cluster IP (reachable inside this cluster only: members elsewhere need --service-type NodePort or --broker-url)",
  };
}

/** A LoadBalancer Service's address, once its controller has given one (bounded). */
async function loadBalancerAddress(client: kube.KubeClient, first: BrokerServiceObject, timeoutMs: number): Promise<BrokerAddress> {
  const end = Date.now() + timeoutMs;
  for (let svc = first; ; svc = await client.get<BrokerServiceObject>(kube.R.service, BROKER_NAMESPACE, "causeway-broker")) {
    const ingress = svc.status?.loadBalancer?.ingress?.[0];
    const host = ingress?.ip ?? ingress?.hostname;
    if (host) return { url: `${host}:${servicePort(svc)}`, how: "the Service's load balancer" };
    if (Date.now() > end)
      throw new DeployError(
        `the broker's LoadBalancer Service has no address after ${timeoutMs / 1000} s (does this cluster have a load-balancer controller?); pass --broker-url <host:port>, or --service-type NodePort`,
      );
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** Pure: --service-type's value, or a ValidationError naming the types. */
export function parseServiceType<T extends string>(v: string, types: readonly T[]): T {
  const t = types.find((x) => x.toLowerCase() === v.toLowerCase());
  if (!t) throw new ValidationError(`--service-type ${v}: not one of ${types.join(", ")}`);
  return t;
}
