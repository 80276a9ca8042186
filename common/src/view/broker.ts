import type { Endpoint, GatewayStatus, Kind } from "@causeway/api";
import type { BrokerConnection } from "../broker/client.ts";
import { newestPerCluster } from "../broker/endpoints.ts";
import { BrokerWatcher, type CachedRecord } from "../broker/watcher.ts";
import type { Logger } from "../log.ts";
import type { SiteNode } from "../site.ts";
import type { EndpointView, GatewaySink, NodeView } from "./types.ts";
import { WatchedView } from "./watched.ts";

/** Standalone mode: endpoints straight from the broker (list-then-watch, resumable). */
export class BrokerEndpointView extends WatchedView<BrokerWatcher> implements EndpointView {
  readonly #conn: BrokerConnection;
  readonly #log: Logger;
  readonly #kinds: readonly Kind[];

  /** Follows endpoints, plus any other `kinds` a caller reads through records(). */
  constructor(conn: BrokerConnection, log: Logger, kinds: readonly Kind[] = ["endpoint"]) {
    super();
    this.#conn = conn;
    this.#log = log;
    this.#kinds = kinds.includes("endpoint") ? kinds : ["endpoint", ...kinds];
  }

  /** The cached broker records of one followed kind. */
  records<K extends Kind>(kind: K): CachedRecord<K>[] {
    return this.watcher?.items(kind) ?? [];
  }

  /** Changes whenever a record of `kind` changed (see BrokerWatcher.generation). */
  generation(kind: Kind): number {
    return this.watcher?.generation(kind) ?? 0;
  }

  protected makeWatcher(onChange: () => void): BrokerWatcher {
    return new BrokerWatcher(this.#conn, { kinds: this.#kinds, log: this.#log, onChange });
  }

  endpoints(): Map<string, Endpoint> {
    return newestPerCluster(this.records("endpoint"));
  }

  endpointsOf(clusterId: string): Endpoint[] {
    return this.records("endpoint")
      .filter((r) => r.clusterId === clusterId)
      .map((r) => r.value);
  }
}

/** Standalone mode: a gateway writes its endpoint and status to the broker (its credential allows only its own cluster). */
export class BrokerGatewaySink implements GatewaySink {
  readonly #conn: BrokerConnection;
  readonly #clusterId: string;

  constructor(conn: BrokerConnection, clusterId: string) {
    this.#conn = conn;
    this.#clusterId = clusterId;
  }

  async putEndpoint(ep: Endpoint): Promise<void> {
    await this.#conn.put("endpoint", ep.cluster_id, ep.cable_name, ep);
  }

  async deleteEndpoint(ep: Endpoint): Promise<void> {
    await this.#conn.delete("endpoint", ep.cluster_id, ep.cable_name);
  }

  async putStatus(node: string, status: GatewayStatus): Promise<void> {
    await this.#conn.put("gateway", this.#clusterId, node, status);
  }

  async deleteStatus(node: string): Promise<void> {
    await this.#conn.delete("gateway", this.#clusterId, node);
  }
}

/** Standalone mode: the nodes listed in the site file (never changes while running). */
export class StaticNodeView implements NodeView {
  readonly #nodes: readonly SiteNode[];
  readonly synced = Promise.resolve();

  constructor(nodes: readonly SiteNode[]) {
    this.#nodes = nodes;
  }

  start(): void {}

  stop(): void {}

  nodes(): SiteNode[] {
    return [...this.#nodes];
  }
}
