import {
  type Endpoint,
  type EndpointObject,
  EndpointObjectSchema,
  ensureValidName,
  type GatewayStatus,
  isIPv4,
  isIPv4Cidr,
  ObjectMetaSchema,
} from "@causeway/api";
import { z } from "zod";
import type { KubeClient, ObjectMeta, ResourceType } from "../kube/client.ts";
import { KubeNotFoundError } from "../kube/errors.ts";
import { R } from "../kube/types.ts";
import { KubeWatcher } from "../kube/watcher.ts";
import type { Logger } from "../log.ts";
import type { SiteNode } from "../site.ts";
import type { EndpointView, GatewaySink, NodeView } from "./types.ts";
import { WatchedView } from "./watched.ts";

/** Label on every object Causeway writes for a cluster: which cluster it describes. */
export const CLUSTER_LABEL = "causeway.io/cluster-id";
/** Node label marking nodes that may run the gateway (like submariner.io/gateway=true). */
export const GATEWAY_NODE_LABEL = "causeway.io/gateway";
/** Node annotation: the node's address inside its pod network, when not the pod CIDR's first host. */
export const CNI_IP_ANNOTATION = "causeway.io/cni-ip";
/** Node annotation on gateway nodes: public IP resolvers ("ipv4:…", "dns:…", "api:…"), like gateway.submariner.io/public-ip. */
export const PUBLIC_IP_ANNOTATION = "causeway.io/public-ip";
/** The field manager of every server-side apply Causeway's components do. */
export const FIELD_MANAGER = "causeway";

/** The Endpoint object name Submariner would use: <cluster>-<cable name>, made a valid name. */
export const endpointObjectName = (ep: Endpoint): string => ensureValidName(`${ep.cluster_id}-${ep.cable_name}`);

/** The Endpoint object for an endpoint, labelled with its cluster. */
export function endpointObject(ep: Endpoint, namespace: string): EndpointObject {
  return { metadata: { name: endpointObjectName(ep), namespace, labels: { [CLUSTER_LABEL]: ep.cluster_id } }, spec: ep };
}

const newer = (a: EndpointObject, b: EndpointObject): boolean =>
  (a.metadata.creationTimestamp ?? "") > (b.metadata.creationTimestamp ?? "") ||
  ((a.metadata.creationTimestamp ?? "") === (b.metadata.creationTimestamp ?? "") &&
    Number(a.metadata.resourceVersion ?? 0) > Number(b.metadata.resourceVersion ?? 0));

/** Kubernetes mode: the validated objects of one resource type in the local API (a namespace, or all). */
export class KubeListView<S extends z.ZodType<{ metadata: ObjectMeta }>> extends WatchedView<KubeWatcher<S>> {
  readonly #o: { client: KubeClient; type: ResourceType; namespace: string | undefined; schema: S; log: Logger; labelSelector?: string };

  /** `labelSelector`: only the objects it selects are listed and watched. */
  constructor(client: KubeClient, type: ResourceType, namespace: string | undefined, schema: S, log: Logger, labelSelector?: string) {
    super();
    this.#o = { client, type, namespace, schema, log, ...(labelSelector ? { labelSelector } : {}) };
  }

  protected makeWatcher(onChange: () => void): KubeWatcher<S> {
    return new KubeWatcher({ ...this.#o, onChange });
  }

  objects(): z.infer<S>[] {
    return this.watcher?.items() ?? [];
  }
}

/** Kubernetes mode: endpoints from the local API's Endpoint resources (kept in line with the broker by the active gateway). */
export class KubeEndpointView extends KubeListView<typeof EndpointObjectSchema> implements EndpointView {
  constructor(client: KubeClient, namespace: string, log: Logger) {
    super(client, R.endpoint, namespace, EndpointObjectSchema, log);
  }

  endpoints(): Map<string, Endpoint> {
    const best = new Map<string, EndpointObject>();
    for (const o of this.objects()) {
      const cur = best.get(o.spec.cluster_id);
      if (!cur || newer(o, cur)) best.set(o.spec.cluster_id, o);
    }
    return new Map([...best].map(([k, v]) => [k, v.spec]));
  }

  endpointsOf(clusterId: string): Endpoint[] {
    return this.objects()
      .filter((o) => o.spec.cluster_id === clusterId)
      .map((o) => o.spec);
  }
}

/** Kubernetes mode: the gateway writes its Endpoint and Gateway objects in the local API (server-side apply). */
export class KubeGatewaySink implements GatewaySink {
  readonly #client: KubeClient;
  readonly #namespace: string;

  constructor(client: KubeClient, namespace: string) {
    this.#client = client;
    this.#namespace = namespace;
  }

  async putEndpoint(ep: Endpoint): Promise<void> {
    await this.#client.apply(R.endpoint, endpointObject(ep, this.#namespace), { fieldManager: FIELD_MANAGER });
  }

  async deleteEndpoint(ep: Endpoint): Promise<void> {
    await this.#client.delete(R.endpoint, this.#namespace, endpointObjectName(ep));
  }

  async putStatus(node: string, status: GatewayStatus): Promise<void> {
    const name = ensureValidName(node);
    const meta = { name, namespace: this.#namespace, annotations: { "causeway.io/update-timestamp": String(Math.floor(Date.now() / 1000)) } };
    await this.#client.apply(R.gateway, { metadata: meta }, { fieldManager: FIELD_MANAGER });
    try {
      await this.#client.apply(R.gateway, { metadata: { name, namespace: this.#namespace }, ...{ status } }, { fieldManager: FIELD_MANAGER, sub: "status" });
    } catch (err) {
      if (!(err instanceof KubeNotFoundError)) throw err;
    }
  }

  async deleteStatus(node: string): Promise<void> {
    await this.#client.delete(R.gateway, this.#namespace, ensureValidName(node));
  }
}

const NodeObjectSchema = z.looseObject({
  metadata: ObjectMetaSchema,
  spec: z.looseObject({ podCIDR: z.string().optional() }).optional(),
  status: z.looseObject({ addresses: z.array(z.looseObject({ type: z.string(), address: z.string() })).optional() }).optional(),
});
type NodeObject = z.infer<typeof NodeObjectSchema>;

/** A Node object as the route agent's SiteNode; undefined (with the reason) when it lacks an InternalIP or a pod CIDR. */
export function siteNodeOf(n: NodeObject): SiteNode | string {
  const ip = n.status?.addresses?.find((a) => a.type === "InternalIP" && isIPv4(a.address))?.address;
  const podCIDR = n.spec?.podCIDR;
  if (!ip) return `node ${n.metadata.name} has no IPv4 InternalIP`;
  if (!podCIDR || !isIPv4Cidr(podCIDR)) return `node ${n.metadata.name} has no IPv4 spec.podCIDR`;
  const cniIP = n.metadata.annotations?.[CNI_IP_ANNOTATION];
  return { name: n.metadata.name, ip, podCIDR, ...(cniIP && isIPv4(cniIP) ? { cniIP } : {}), gateway: n.metadata.labels?.[GATEWAY_NODE_LABEL] === "true" };
}

/** A Node object from the API (unvalidated) as a SiteNode, or the reason it cannot be one. */
export function nodeFromObject(raw: unknown): SiteNode | string {
  const res = NodeObjectSchema.safeParse(raw);
  return res.success ? siteNodeOf(res.data) : `the Node object is malformed: ${res.error.message}`;
}

/** Kubernetes mode: the cluster's nodes from Node objects (InternalIP, spec.podCIDR, gateway label). */
export class KubeNodeView extends KubeListView<typeof NodeObjectSchema> implements NodeView {
  readonly #log: Logger;
  readonly #warned = new Set<string>();

  constructor(client: KubeClient, log: Logger) {
    super(client, R.node, undefined, NodeObjectSchema, log);
    this.#log = log;
  }

  nodes(): SiteNode[] {
    const out: SiteNode[] = [];
    for (const n of this.objects()) {
      const s = siteNodeOf(n);
      if (typeof s !== "string") out.push(s);
      else if (!this.#warned.has(s)) {
        this.#warned.add(s);
        this.#log.warn({ node: n.metadata.name, reason: s }, "node left out of routing");
      }
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }
}
