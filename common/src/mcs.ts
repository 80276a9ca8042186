/** What the lighthouse writes and the route agent reads of the MCS API (labels), and which remote clusters are reachable. */
import type { GatewayStatus } from "@causeway/api";

/** MCS labels of the EndpointSlices an import gets (reference mcs-api §0.1). */
export const MCS_SERVICE_NAME_LABEL = "multicluster.kubernetes.io/service-name";
export const MCS_SOURCE_CLUSTER_LABEL = "multicluster.kubernetes.io/source-cluster";
/** Who manages our EndpointSlices: not the Kubernetes EndpointSlice controller (kube-proxy ignores none of them; the controller leaves them alone). */
export const SLICE_MANAGER = "lighthouse.causeway.io";
export const MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by";
/** The label on the ServiceImports Causeway writes (a user's own ServiceImport lacks it and is left alone). */
export const IMPORT_MANAGED_LABEL = "app.kubernetes.io/managed-by";
export const IMPORT_MANAGER = "causeway-lighthouse";

/** Pure: whether the local cluster's active gateway reports a connected cable to `clusterId`; with no active gateway status (discovery only) every cluster is. */
export function connectedVia(statuses: readonly GatewayStatus[], clusterId: string): boolean {
  const active = statuses.filter((s) => s.haStatus === "active").sort((a, b) => b.updatedAt.localeCompare(a.updatedAt))[0];
  if (!active) return true;
  return active.connections.some((c) => c.endpoint.cluster_id === clusterId && c.status === "connected");
}
