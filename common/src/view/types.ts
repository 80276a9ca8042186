import type { Endpoint, GatewayStatus } from "@causeway/api";
import type { SiteNode } from "../site.ts";

/** Something a reconcile loop follows: started once, tells when it changed, synced after its first full view. */
export interface Source {
  /** Resolves once the first full view has loaded (a pass before that must not prune). */
  readonly synced: Promise<void>;
  start(onChange: () => void): void;
  stop(): void;
}

/**
 * The clusterset's gateway endpoints as a component sees them (ARCHITECTURE §2): from the
 * broker in standalone mode, from the local API's Endpoint resources in Kubernetes mode.
 */
export interface EndpointView extends Source {
  /** The newest endpoint of each cluster, by cluster id (a stale one never wins over its successor). */
  endpoints(): Map<string, Endpoint>;
  /** Every endpoint of one cluster (several while a stale one lingers). */
  endpointsOf(clusterId: string): Endpoint[];
}

/** Where a gateway writes: its own Endpoint and its status. Every call is idempotent. */
export interface GatewaySink {
  putEndpoint(ep: Endpoint): Promise<void>;
  /** Removes an endpoint of this cluster; absent is fine. */
  deleteEndpoint(ep: Endpoint): Promise<void>;
  putStatus(node: string, status: GatewayStatus): Promise<void>;
  deleteStatus(node: string): Promise<void>;
}

/** The cluster's nodes: the site file in standalone mode, Node objects in Kubernetes mode. */
export interface NodeView extends Source {
  nodes(): SiteNode[];
}
