/** What the DNS server answers from: the services imported into this cluster, per exporting cluster (ARCHITECTURE §6). */

export type ServicePortProtocol = "TCP" | "UDP" | "SCTP";

export interface ServicePort {
  /** Named ports get `_<name>._<proto>` SRV records. */
  readonly name?: string;
  readonly protocol: ServicePortProtocol;
  readonly port: number;
}

export interface ServiceEndpoint {
  readonly ip: string;
  /** Its DNS label (the endpoint's hostname, else its pod name); derived from the IP when absent. */
  readonly hostname?: string;
  readonly ready: boolean;
}

/** One exporting cluster's part of an imported service. */
export interface ClusterBackend {
  readonly clusterId: string;
  /** ClusterSetIP services: the exported Service's IP in that cluster (routable across the clusterset). */
  readonly ip?: string;
  readonly ports: readonly ServicePort[];
  /** Endpoints of the exported service in that cluster (ready ones make the cluster eligible). */
  readonly endpoints: readonly ServiceEndpoint[];
}

export interface ImportedService {
  readonly namespace: string;
  readonly name: string;
  readonly type: "ClusterSetIP" | "Headless";
  /** Clusterset IPs when one is allocated (ServiceImport spec.ips); answered instead of per-cluster IPs. */
  readonly ips?: readonly string[];
  /** With clusterset IPs: the import's ports (the union of the exports', the oldest winning a conflict), what SRV answers. */
  readonly ports?: readonly ServicePort[];
  readonly clusters: readonly ClusterBackend[];
}

/** The DNS server's view of the clusterset, read on every query. */
export interface DnsSource {
  readonly localCluster: string;
  service(namespace: string, name: string): ImportedService | undefined;
  /** Whether this cluster's active gateway reports a connected cable to `clusterId` (the local cluster always is). */
  connected(clusterId: string): boolean;
  /** Every service (reverse lookups). */
  services(): Iterable<ImportedService>;
  /**
   * A number that changes whenever anything above may answer differently; while it stays the
   * same the server may reuse encoded answers. Sources without it are never cached.
   */
  version?(): number;
}

/** A DnsSource over a fixed list (tests, benchmarks, and the standalone agent's snapshot). */
export class StaticDnsSource implements DnsSource {
  readonly localCluster: string;
  readonly #services = new Map<string, ImportedService>();
  readonly #down = new Set<string>();
  #version = 0;

  constructor(localCluster: string, services: readonly ImportedService[] = []) {
    this.localCluster = localCluster;
    for (const s of services) this.set(s);
  }

  set(s: ImportedService): void {
    this.#version++;
    this.#services.set(`${s.namespace}/${s.name}`, s);
  }

  delete(namespace: string, name: string): void {
    this.#version++;
    this.#services.delete(`${namespace}/${name}`);
  }

  /** Marks a remote cluster's cable down (true) or up. */
  setDown(clusterId: string, down: boolean): void {
    this.#version++;
    if (down) this.#down.add(clusterId);
    else this.#down.delete(clusterId);
  }

  service(namespace: string, name: string): ImportedService | undefined {
    return this.#services.get(`${namespace}/${name}`);
  }

  connected(clusterId: string): boolean {
    return clusterId === this.localCluster || !this.#down.has(clusterId);
  }

  services(): Iterable<ImportedService> {
    return this.#services.values();
  }

  version(): number {
    return this.#version;
  }
}
