/**
 * Globalnet on the active gateway: what its translation table holds (common/src/host/globalnat.ts),
 * from its cluster's global CIDR, the other clusters' endpoints and its cluster's exports with
 * the global IPs the lighthouse gave them. Every input is at the broker (or the local API), so a
 * gateway that takes over rebuilds the same table before it publishes its Endpoint.
 */
import {
  allocateEgressPools,
  ClusterObjectSchema,
  type Endpoint,
  errorMessage,
  globalAddresses,
  GlobalEgressIPObjectSchema,
  globalIngressCapacity,
  type GlobalEgressIPObject,
  PodAddressObjectSchema,
  poolAddressFor,
  selects,
  type ServiceExport,
} from "@causeway/api";
import { heldGlobalIps, type host, kube, type Logger, view } from "@causeway/common";
import type { BrokerConnection } from "@causeway/common/broker-client";
import { Gauge, type Registry } from "prom-client";
import { TranslationError } from "./errors.ts";

/** Where the gateway reads its cluster's global CIDR and exports. */
export interface GlobalnetSource {
  /** Sources to follow besides the gateway's endpoint view (none when they are the same view). */
  readonly sources: readonly view.Source[];
  /** This cluster's global CIDR; undefined while the clusterset does not run globalnet. */
  globalCidr(): string | undefined;
  /** This cluster's exports. */
  exports(): ServiceExport[];
  /**
   * Pods that leave with a namespace's own egress pool (GlobalEgressIP; Kubernetes mode): the
   * active gateway allocates the pools (and reports them in each object's status) on the way.
   */
  namespaceEgress?(globalCidr: string): Promise<readonly { local: string; global: string }[]>;
  /** Whether the exports are known yet (false: the broker has not answered since this process started); absent: always. */
  exportsKnown?(): boolean;
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
  readonly #pools: view.KubeListView<typeof GlobalEgressIPObjectSchema> | undefined;
  readonly #pods: view.KubeListView<typeof PodAddressObjectSchema> | undefined;
  readonly #client: kube.KubeClient;
  readonly #log: Logger;

  constructor(o: { client: kube.KubeClient; namespace: string; conn: BrokerConnection; clusterId: string; configured?: string | undefined; log: Logger }) {
    this.#clusterId = o.clusterId;
    this.#configured = o.configured;
    this.#clusters = new view.KubeListView(o.client, kube.R.cluster, o.namespace, ClusterObjectSchema, o.log);
    this.#client = o.client;
    this.#log = o.log;
    // Under globalnet (known from the configuration): every namespace's GlobalEgressIPs, and the pods they may select.
    this.#pools = o.configured ? new view.KubeListView(o.client, kube.R.globalEgressIP, undefined, GlobalEgressIPObjectSchema, o.log) : undefined;
    this.#pods = o.configured ? new view.KubeListView(o.client, kube.R.pod, undefined, PodAddressObjectSchema, o.log) : undefined;
    this.#broker = new view.BrokerEndpointView(o.conn, o.log, ["export"]);
    const broker = this.#broker;
    const ungated: view.Source = { synced: Promise.resolve(), start: (onChange) => broker.start(onChange), stop: () => broker.stop() };
    this.sources = [this.#clusters, ...(this.#pools && this.#pods ? [this.#pools, this.#pods] : []), ungated];
  }

  globalCidr(): string | undefined {
    return this.#configured ?? this.#clusters.objects().find((c) => c.spec.cluster_id === this.#clusterId)?.spec.global_cidr[0];
  }

  async namespaceEgress(globalCidr: string): Promise<readonly { local: string; global: string }[]> {
    const objects = this.#pools?.objects() ?? [];
    if (!objects.length) return [];
    const { pools, egress } = namespaceEgressOf(globalCidr, objects, this.#pods?.objects() ?? []);
    for (const o of objects) await this.#report(o, pools.get(`${o.metadata.namespace ?? ""}/${o.metadata.name}`) ?? { ips: [], message: "" });
    return egress;
  }

  /** The object's status, when it says otherwise (a failed write is retried by the next pass). */
  async #report(o: GlobalEgressIPObject, got: { ips: string[]; message: string }): Promise<void> {
    const now = o.status;
    if (now && now.allocatedIPs.join() === got.ips.join() && now.message === got.message) return;
    const obj = { metadata: { name: o.metadata.name, namespace: o.metadata.namespace ?? "" }, status: { allocatedIPs: got.ips, message: got.message } };
    await this.#client.apply(kube.R.globalEgressIP, obj, { fieldManager: "causeway-gateway", sub: "status" }).catch((err: unknown) => {
      this.#log.warn({ err: errorMessage(err), globalEgressIP: `${obj.metadata.namespace}/${obj.metadata.name}` }, "GlobalEgressIP status not written");
    });
  }

  exportsKnown(): boolean {
    return this.#broker.isSynced;
  }

  exports(): ServiceExport[] {
    return this.#broker
      .records("export")
      .filter((r) => r.clusterId === this.#clusterId)
      .map((r) => r.value);
  }
}

/**
 * Pure: every GlobalEgressIP's pool (allocateEgressPools) and the pods that leave with it: each
 * selected pod of the object's namespace (not host-network ones) gets one address of the pool; a
 * pod two objects select keeps the older object's.
 */
export function namespaceEgressOf(
  globalCidr: string,
  objects: readonly GlobalEgressIPObject[],
  pods: readonly { metadata: { namespace?: string; labels?: Record<string, string> }; spec?: { hostNetwork?: boolean }; status?: { podIP?: string } }[],
): { pools: Map<string, { ips: string[]; message: string }>; egress: { local: string; global: string }[] } {
  const requests = objects.map((o) => ({
    namespace: o.metadata.namespace ?? "",
    name: o.metadata.name,
    numberOfIPs: o.spec.numberOfIPs ?? 1,
    createdAt: o.metadata.creationTimestamp ?? "",
    allocated: o.status?.allocatedIPs ?? [],
  }));
  const pools = allocateEgressPools(globalCidr, requests);
  const byAge = [...objects].sort((a, b) => (a.metadata.creationTimestamp ?? "").localeCompare(b.metadata.creationTimestamp ?? ""));
  const out = new Map<string, string>();
  for (const o of byAge) {
    const ns = o.metadata.namespace ?? "";
    const ips = pools.get(`${ns}/${o.metadata.name}`)?.ips ?? [];
    for (const p of pods) {
      const ip = p.status?.podIP;
      if (!ip || out.has(ip) || p.metadata.namespace !== ns || p.spec?.hostNetwork || !selects(o.spec.podSelector, p.metadata.labels)) continue;
      const global = poolAddressFor(ip, ips);
      if (global) out.set(ip, global);
    }
  }
  return { pools, egress: [...out].map(([local, global]) => ({ local, global })) };
}

const PROTOCOLS = ["TCP", "UDP", "SCTP"] as const;

/**
 * Pure: the translation table of a cluster with global CIDR `globalCidr`: the other clusters'
 * global CIDRs (their endpoints' subnets) leave translated to the egress pool; the health-check
 * address reaches this gateway's CNI address; each exported ClusterSetIP service's global IP and
 * port reaches its ready endpoints on the target port; each ready headless endpoint's global IP is
 * that endpoint, both ways (an active-active gateway: its slot's egress address alone). Exports still without a global IP (the lighthouse gives one within its
 * next pass) and services without a ready endpoint translate nothing: refused.
 */
export function globalNatSpec(o: {
  readonly globalCidr: string;
  readonly clusterId: string;
  readonly healthCheckIp: string;
  readonly endpoints: ReadonlyMap<string, Endpoint>;
  readonly exports: readonly ServiceExport[];
  /** Pods leaving with their namespace's pool (GlobalEgressIP). */
  readonly egress?: readonly { local: string; global: string }[];
  /**
   * Active-active: this gateway's slot. It translates what leaves to the egress address of its
   * slot alone (the slot-th of the cluster's egress addresses), so two gateways never hand out the
   * same address and port towards the same remote end.
   */
  readonly gatewaySlot?: number;
}): host.GlobalNatSpec | undefined {
  const a = globalAddresses(o.globalCidr);
  if (!a) return undefined;
  const egressIPs = o.gatewaySlot === undefined ? a.egressIPs : a.egressIPs.slice(o.gatewaySlot - 1, o.gatewaySlot);
  if (!egressIPs.length)
    throw new TranslationError(
      `gateway slot ${o.gatewaySlot} has no egress address of its own: a cluster under globalnet has at most ${a.egressIPs.length} active-active gateways (stop this one)`,
    );
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
  return { globalCidr: o.globalCidr, egressIPs, remote, services, hosts, ...(o.egress?.length ? { egress: o.egress } : {}) };
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
