import { ClusterObjectSchema, EndpointObjectSchema, GatewayObjectSchema, SYSTEM_NAMESPACE } from "@causeway/api";
import { kube } from "@causeway/common";
import type { ClusterView } from "./model.ts";

/**
 * Kubernetes mode: what one member cluster knows, read from its own API (Endpoint, Cluster and
 * Gateway objects in causeway-system), as Submariner's subctl reads each context.
 */
export async function viewFromKube(client: kube.KubeClient, namespace = SYSTEM_NAMESPACE): Promise<ClusterView> {
  const { clusterId } = await kube.loadJoinedCluster(client, namespace, false);
  const parse = <T>(items: unknown[], schema: { safeParse(x: unknown): { success: true; data: T } | { success: false } }): T[] =>
    items.flatMap((i) => {
      const r = schema.safeParse(i);
      return r.success ? [r.data] : [];
    });
  const eps = parse((await client.list(kube.R.endpoint, namespace)).items, EndpointObjectSchema);
  const clusters = parse((await client.list(kube.R.cluster, namespace)).items, ClusterObjectSchema);
  const gws = parse((await client.list(kube.R.gateway, namespace)).items, GatewayObjectSchema);
  return {
    id: clusterId,
    cluster: clusters.find((c) => c.spec.cluster_id === clusterId)?.spec,
    endpoints: eps
      .map((o) => ({ endpoint: o.spec, type: o.spec.cluster_id === clusterId ? ("local" as const) : ("remote" as const) }))
      .sort((a, b) => (a.type === b.type ? a.endpoint.cluster_id.localeCompare(b.endpoint.cluster_id) : a.type === "local" ? -1 : 1)),
    gateways: gws.flatMap((g) => (g.status ? [{ hostname: g.metadata.name, status: g.status }] : [])),
  };
}
