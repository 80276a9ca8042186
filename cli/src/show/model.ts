import { type Cluster, type Endpoint, type GatewayStatus, parseValue, type WireRecord } from "@causeway/api";

/** What `show` knows about one cluster, as seen from that cluster. */
export interface ClusterView {
  readonly id: string;
  readonly cluster: Cluster | undefined;
  readonly endpoints: { readonly endpoint: Endpoint; readonly type: "local" | "remote" }[];
  readonly gateways: { readonly hostname: string; readonly status: GatewayStatus }[];
}

/** Pure: builds one view per cluster from the broker's records. Invalid records are skipped. */
export function buildViews(records: readonly WireRecord[]): ClusterView[] {
  const clusters = new Map<string, Cluster>();
  const endpoints: Endpoint[] = [];
  const gateways: { clusterId: string; hostname: string; status: GatewayStatus }[] = [];
  for (const r of records) {
    try {
      if (r.kind === "cluster") clusters.set(r.clusterId, parseValue("cluster", r.valueJson));
      if (r.kind === "endpoint") endpoints.push(parseValue("endpoint", r.valueJson));
      if (r.kind === "gateway") gateways.push({ clusterId: r.clusterId, hostname: r.name, status: parseValue("gateway", r.valueJson) });
    } catch {
      // a record that fails validation is not shown
    }
  }
  const ids = [...new Set([...clusters.keys(), ...endpoints.map((e) => e.cluster_id)])].sort();
  return ids.map((id) => ({
    id,
    cluster: clusters.get(id),
    endpoints: endpoints
      .map((e) => ({ endpoint: e, type: e.cluster_id === id ? ("local" as const) : ("remote" as const) }))
      .sort((a, b) => (a.type === b.type ? a.endpoint.cluster_id.localeCompare(b.endpoint.cluster_id) : a.type === "local" ? -1 : 1)),
    gateways: gateways.filter((g) => g.clusterId === id).map(({ hostname, status }) => ({ hostname, status })),
  }));
}
