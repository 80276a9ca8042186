/**
 * Globalnet on the active gateway: what its translation table holds (common/src/host/globalnat.ts),
 * from its cluster's global CIDR, the other clusters' endpoints and its cluster's exports with
 * the global IPs the lighthouse gave them. Every input is at the broker (or the local API), so a
 * gateway that takes over rebuilds the same table before it publishes its Endpoint.
 */
import { ClusterObjectSchema, type Endpoint, globalAddresses, globalIngressCapacity, type ServiceExport } from "@causeway/api";
import { heldGlobalIps, type host, kube, type Logger, view } from "@causeway/common";
import type { BrokerConnection } from "@causeway/common/broker-client";
import { Gauge, type Registry } from "prom-client";

/** Where the gateway reads its cluster's global CIDR and exports. */
export interface GlobalnetSource {
  /** Sources to follow besides the gateway's endpoint view (none when they are the same view). */
  readonly sources: readonly view.Source[];
  /** This cluster's global CIDR; undefined while the clusterset does not run globalnet. */
  globalCidr(): string | undefined;
  /** This cluster's exports. */
  exports(): ServiceExport[];
}

/** What a gateway translates with (its table) and reports to, in either mode. */
export interface GlobalnetHost {
  readonly nat: host.GlobalNat;
  readonly metrics?: GlobalnetMetrics;
}

export interface GlobalnetDeps extends GlobalnetHost {
  readonly source: GlobalnetSource;
}

/** Standalone mode: the broker records the gateway already follows (its view follows clusters and exports too). */
export class BrokerGlobalnetSource implements GlobalnetSource {
  readonly sources: readonly view.Source[] = [];
  readonly #view: view.BrokerEndpointView;
  readonly #clusterId: string;

  constructor(brokerView: view.BrokerEndpointView, clusterId: string) {
    this.#view = brokerView;
    this.#clusterId = clusterId;
  }

  globalCidr(): string | undefined {
    return this.#view.records("cluster").find((r) => r.clusterId === this.#clusterId)?.value.global_cidr[0];
  }

  exports(): ServiceExport[] {
    return this.#view
      .records("export")
      .filter((r) => r.clusterId === this.#clusterId)
      .map((r) => r.value);
  }
}

/**
 * Kubernetes mode: the global CIDR join wrote into the cluster's configuration (else its Cluster
 * object in the local API, which the active gateway keeps) — known before the first pass, so the
 * gateway never publishes the cluster's own, overlapping CIDRs as its Endpoint's subnets — and the
 * exports from the broker. The broker part does not hold back the
 * gateway's passes: a gateway that takes over while the broker is unreachable builds its cables
 * and egress translation at once, and the exports' ingress translation once the broker answers.
 */
export class KubeGlobalnetSource implements GlobalnetSource {
  readonly sources: readonly view.Source[];
  readonly #clusters: view.KubeListView<typeof ClusterObjectSchema>;
  readonly #broker: view.BrokerEndpointView;
  readonly #clusterId: string;
  readonly #configured: string | undefined;

  constructor(o: { client: kube.KubeClient; namespace: string; conn: BrokerConnection; clusterId: string; configured?: string | undefined; log: Logger }) {
    this.#clusterId = o.clusterId;
    this.#configured = o.configured;
    this.#clusters = new view.KubeListView(o.client, kube.R.cluster, o.namespace, ClusterObjectSchema, o.log);
    this.#broker = new view.BrokerEndpointView(o.conn, o.log, ["export"]);
    const broker = this.#broker;
    const ungated: view.Source = { synced: Promise.resolve(), start: (onChange) => broker.start(onChange), stop: () => broker.stop() };
    this.sources = [this.#clusters, ungated];
  }

  globalCidr(): string | undefined {
    return this.#configured ?? this.#clusters.objects().find((c) => c.spec.cluster_id === this.#clusterId)?.spec.global_cidr[0];
  }

  exports(): ServiceExport[] {
    return this.#broker
      .records("export")
      .filter((r) => r.clusterId === this.#clusterId)
      .map((r) => r.value);
  }
}

const PROTOCOLS = ["TCP", "UDP", "SCTP"] as const;

/**
 * Pure: the translation table of a cluster with global CIDR `globalCidr`: the other clusters'
 * global CIDRs (their endpoints' subnets) leave translated to the egress pool; the health-check
 * address reaches this gateway's CNI address; each exported ClusterSetIP service's global IP and
 * port reaches its ready endpoints on the target port; each ready headless endpoint's global IP is
 * that endpoint, both ways. Exports still without a global IP (the lighthouse gives one within its
 * next pass) and services without a ready endpoint translate nothing: refused.
 */
export function globalNatSpec(o: {
  readonly globalCidr: string;
  readonly clusterId: string;
  readonly healthCheckIp: string;
  readonly endpoints: ReadonlyMap<string, Endpoint>;
  readonly exports: readonly ServiceExport[];
}): host.GlobalNatSpec | undefined {
  const a = globalAddresses(o.globalCidr);
  if (!a) return undefined;
  const remote = [...o.endpoints].filter(([id]) => id !== o.clusterId).flatMap(([, ep]) => ep.subnets);
  const services: host.GlobalNatSpec["services"][number][] = [];
  const hosts: host.GlobalHost[] = [{ global: a.healthCheckIP, local: o.healthCheckIp, key: "health-check", egress: false }];
  for (const e of o.exports) {
    const key = `${e.namespace}/${e.name}`;
    const ready = e.endpoints.filter((x) => x.ready);
    if (e.type === "ClusterSetIP" && e.globalIp) {
      services.push({
        key,
        ip: e.globalIp,
        ...(e.sessionAffinity === "ClientIP" ? { clientIpAffinity: true } : {}),
        ports: e.ports
          .filter((p) => PROTOCOLS.includes(p.protocol))
          .map((p) => ({ protocol: p.protocol, port: p.port, targets: ready.map((x) => ({ ip: x.ip, port: p.targetPort ?? p.port })) })),
      });
    }
    if (e.type === "Headless") for (const x of ready) if (x.globalIp) hosts.push({ global: x.globalIp, local: x.ip, key, egress: true });
  }
  return { globalCidr: o.globalCidr, egressIPs: a.egressIPs, remote, services, hosts };
}

/** Allocated and free global ingress IPs of this cluster (the active gateway reports them). */
export class GlobalnetMetrics {
  readonly #ips: Gauge<"state">;

  constructor(registry: Registry) {
    this.#ips = new Gauge({
      name: "causeway_globalnet_ips",
      help: "Global ingress IPs of this cluster's global CIDR by state (allocated to exports, free)",
      labelNames: ["state"],
      registers: [registry],
    });
  }

  update(globalCidr: string | undefined, exports: readonly ServiceExport[]): void {
    if (!globalCidr) {
      this.#ips.reset();
      return;
    }
    const held = heldGlobalIps(exports);
    this.#ips.set({ state: "allocated" }, held.size);
    this.#ips.set({ state: "free" }, globalIngressCapacity(globalCidr) - held.size);
  }
}
