/** The narrow views business logic sees the cluster through; one implementation per mode (ARCHITECTURE §2). */
export type { EndpointView, GatewaySink, NodeView, Source } from "./types.ts";
export { type Watchable, WatchedView } from "./watched.ts";
export { BrokerEndpointView, BrokerGatewaySink, StaticNodeView } from "./broker.ts";
export {
  CLUSTER_LABEL,
  CNI_IP_ANNOTATION,
  PUBLIC_IP_ANNOTATION,
  endpointObject,
  endpointObjectName,
  FIELD_MANAGER,
  GATEWAY_NODE_LABEL,
  KubeEndpointView,
  KubeGatewaySink,
  KubeListView,
  KubeNodeView,
  nodeFromObject,
  siteNodeOf,
} from "./kube.ts";
