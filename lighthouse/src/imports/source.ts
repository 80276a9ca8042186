import type { GatewayStatus, ServiceExport } from "@causeway/api";
import { connectedVia, type ExportRecord, type Logger, usableExports, view } from "@causeway/common";
import { type BrokerConnection } from "@causeway/common/broker-client";
import type { DnsSource, ImportedService } from "../dns/model.ts";
import { buildImports, type ExportConflict } from "./build.ts";

/** This cluster's gateway statuses from elsewhere than the broker, with a counter that grows whenever they change. */
export interface LocalStatuses {
  list(): GatewayStatus[];
  version(): number;
}

/**
 * Standalone mode: the DNS server's view from the broker — every cluster's exports (imports
 * rebuilt on each change) and this cluster's gateway statuses (which remote clusters are
 * connected). A Source: start() follows the broker, synced after the first list.
 */
export class BrokerDnsSource implements DnsSource, view.Source {
  readonly localCluster: string;
  readonly #view: view.BrokerEndpointView;
  #services = new Map<string, ImportedService>();
  #conflicts: ExportConflict[] = [];
  /** The export generation the imports were built from (-1: never). */
  #built = -1;
  /** This cluster's gateway statuses, and the gateway generation they were read at. */
  #statuses: { generation: number; value: GatewayStatus[] } = { generation: -1, value: [] };

  readonly #statusesOf: LocalStatuses | undefined;
  readonly #clustersetIps: boolean;

  /**
   * `statuses`: this cluster's gateway statuses when they are not at the broker (Kubernetes mode
   * reads its Gateway objects); standalone mode reads the broker's gateway records.
   * `clustersetIps`: imports carry their clusterset IP, which DNS then answers (else each
   * cluster's own Service IP is answered).
   */
  constructor(conn: BrokerConnection, localCluster: string, log: Logger, o: { statuses?: LocalStatuses; clustersetIps?: boolean } = {}) {
    this.localCluster = localCluster;
    this.#statusesOf = o.statuses;
    this.#clustersetIps = o.clustersetIps ?? false;
    this.#view = new view.BrokerEndpointView(conn, log, o.statuses ? ["export", "cluster"] : ["export", "gateway", "cluster"]);
  }

  get synced(): Promise<void> {
    return this.#view.synced;
  }

  get isSynced(): boolean {
    return this.#view.isSynced;
  }

  start(onChange: () => void = () => undefined): void {
    this.#view.start(() => {
      this.#rebuild();
      onChange();
    });
    void this.#view.synced.then(() => this.#rebuild());
  }

  stop(): void {
    this.#view.stop();
  }

  /**
   * Rebuilds the imports when an export or a cluster record changed (gateway status writes, every
   * few seconds per cluster, leave them alone). Under globalnet other clusters' exports count only
   * by their global addresses.
   */
  #rebuild(): void {
    const generation = this.#view.generation("export") + this.#view.generation("cluster");
    if (generation === this.#built) return;
    this.#built = generation;
    const { services, conflicts } = buildImports(this.usableExportRecords(), this.#clustersetIps);
    this.#services = new Map(services.map((s) => [`${s.namespace}/${s.name}`, s]));
    this.#conflicts = conflicts;
  }

  /** Every cluster's exports at the broker. */
  exportRecords(): ExportRecord[] {
    return this.#view.records("export").map((r) => ({ clusterId: r.clusterId, value: r.value }));
  }

  /** Every cluster's exports as this cluster may use them: under globalnet, other clusters' by their global addresses only. */
  usableExportRecords(): ExportRecord[] {
    return usableExports(this.exportRecords(), this.localCluster, Boolean(this.globalCidr(this.localCluster)));
  }

  /** The block `clusterId` allocates clusterset IPs from (its IPv4 one), as the broker holds it. */
  clustersetBlock(clusterId: string): string | undefined {
    return this.#view.records("cluster").find((r) => r.clusterId === clusterId)?.value.clusterset_ip_cidr?.[0];
  }

  /** The global CIDR of `clusterId` (globalnet), as the broker holds it. */
  globalCidr(clusterId: string): string | undefined {
    return this.#view.records("cluster").find((r) => r.clusterId === clusterId)?.value.global_cidr[0];
  }

  /** One cluster's exports at the broker. */
  exportsOf(clusterId: string): ServiceExport[] {
    return this.#view
      .records("export")
      .filter((r) => r.clusterId === clusterId)
      .map((r) => r.value);
  }

  /** Exports left out of their import (type conflicts). */
  get conflicts(): readonly ExportConflict[] {
    return this.#conflicts;
  }

  service(namespace: string, name: string): ImportedService | undefined {
    return this.#services.get(`${namespace}/${name}`);
  }

  services(): Iterable<ImportedService> {
    return this.#services.values();
  }

  /** The exports the imports were built from, and the gateway statuses (both only grow): changes when an answer may. */
  version(): number {
    return this.#built + (this.#statusesOf ? this.#statusesOf.version() : this.#view.generation("gateway"));
  }

  connected(clusterId: string): boolean {
    if (clusterId === this.localCluster) return true;
    if (this.#statusesOf) return connectedVia(this.#statusesOf.list(), clusterId);
    const generation = this.#view.generation("gateway");
    if (this.#statuses.generation !== generation) {
      const value = this.#view
        .records("gateway")
        .filter((r) => r.clusterId === this.localCluster)
        .map((r) => r.value);
      this.#statuses = { generation, value };
    }
    return connectedVia(this.#statuses.value, clusterId);
  }
}
