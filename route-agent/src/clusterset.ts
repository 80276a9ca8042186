/**
 * Clusterset IPs on this node: which endpoints a connection to an imported service's clusterset
 * IP goes to. Local first — the local cluster's ready endpoints while it has one — else the
 * ready endpoints of every connected cluster that has one (the same choice the DNS server makes
 * for names). The inputs come from the local API (Kubernetes mode: ServiceImports, the MCS
 * EndpointSlices the lighthouse keeps, the Gateway objects and Cluster objects) or the broker
 * (standalone: every cluster's exports, gateway statuses and cluster records).
 */
import { ClusterObjectSchema, type GatewayStatus, GatewayObjectSchema, ObjectMetaSchema } from "@causeway/api";
import {
  connectedVia,
  type ExportRecord,
  exportsByService,
  type host,
  IMPORT_MANAGED_LABEL,
  IMPORT_MANAGER,
  kube,
  type Logger,
  MANAGED_BY_LABEL,
  MCS_SERVICE_NAME_LABEL,
  MCS_SOURCE_CLUSTER_LABEL,
  mergePorts,
  SLICE_MANAGER,
  usableExports,
  view,
} from "@causeway/common";
import { z } from "zod";

type Protocol = "TCP" | "UDP" | "SCTP";

/** One exporting cluster's part of an import, as the route agent needs it. */
export interface ImportCluster {
  readonly clusterId: string;
  readonly connected: boolean;
  readonly endpoints: readonly { readonly ip: string; readonly ready: boolean }[];
  /** The ports on its endpoints, by the service port's name and protocol. */
  readonly ports: readonly { readonly name?: string; readonly protocol: Protocol; readonly port: number }[];
}

/** An import with a clusterset IP. */
export interface ClustersetImport {
  readonly key: string;
  readonly ip: string;
  readonly ports: readonly { readonly name?: string; readonly protocol: Protocol; readonly port: number }[];
  readonly clientIpAffinity?: boolean;
  readonly clusters: readonly ImportCluster[];
}

const ready = (c: ImportCluster) => c.endpoints.some((e) => e.ready);

/** Pure: the clusters whose endpoints take new connections: the local one while it has a ready endpoint, else every connected one that has. */
export function chosenClusters(localCluster: string, clusters: readonly ImportCluster[]): ImportCluster[] {
  const local = clusters.find((c) => c.clusterId === localCluster && ready(c));
  if (local) return [local];
  return clusters.filter((c) => c.clusterId !== localCluster && c.connected && ready(c));
}

/** Pure: the table's spec for `imports` on a node of `localCluster`. */
export function clustersetNatSpec(localCluster: string, imports: readonly ClustersetImport[], blocks: readonly string[]): host.ClustersetNatSpec {
  const services = imports.map((imp) => {
    const chosen = chosenClusters(localCluster, imp.clusters);
    const ports = imp.ports.map((p) => ({
      protocol: p.protocol,
      port: p.port,
      targets: chosen.flatMap((c) => {
        const on = c.ports.find((x) => x.protocol === p.protocol && (x.name ?? "") === (p.name ?? ""));
        return on ? c.endpoints.filter((e) => e.ready).map((e) => ({ ip: e.ip, port: on.port })) : [];
      }),
    }));
    return { key: imp.key, ip: imp.ip, ports, ...(imp.clientIpAffinity ? { clientIpAffinity: true } : {}) };
  });
  return { services, blocks };
}

/** Where the route agent reads imports with clusterset IPs from. */
export interface ClustersetSource {
  readonly sources: readonly view.Source[];
  imports(): ClustersetImport[];
  blocks(): string[];
}

const protocolOf = (p: string | null | undefined): Protocol => (p === "UDP" || p === "SCTP" ? p : "TCP");

const ImportSchema = z.looseObject({
  metadata: ObjectMetaSchema,
  spec: z
    .looseObject({
      ips: z.array(z.string()).nullish(),
      sessionAffinity: z.string().nullish(),
      ports: z.array(z.looseObject({ name: z.string().nullish(), protocol: z.string().nullish(), port: z.number().int() })).nullish(),
    })
    .default({}),
});
const SliceSchema = z.looseObject({
  metadata: ObjectMetaSchema,
  endpoints: z.array(z.looseObject({ addresses: z.array(z.string()), conditions: z.looseObject({ ready: z.boolean().nullish() }).nullish() })).nullish(),
  ports: z.array(z.looseObject({ name: z.string().nullish(), protocol: z.string().nullish(), port: z.number().int().nullish() })).nullish(),
});

/** Kubernetes mode: Causeway's ServiceImports and MCS EndpointSlices, the Gateway objects (which clusters are connected), the Cluster objects (blocks). */
export class KubeClustersetSource implements ClustersetSource {
  readonly #localCluster: string;
  readonly #imports: view.KubeListView<typeof ImportSchema>;
  readonly #slices: view.KubeListView<typeof SliceSchema>;
  readonly #gateways: view.KubeListView<typeof GatewayObjectSchema>;
  readonly #clusters: view.KubeListView<typeof ClusterObjectSchema>;
  readonly sources: readonly view.Source[];

  constructor(client: kube.KubeClient, namespace: string, localCluster: string, log: Logger) {
    this.#localCluster = localCluster;
    this.#imports = new view.KubeListView(client, kube.R.serviceImport, undefined, ImportSchema, log, `${IMPORT_MANAGED_LABEL}=${IMPORT_MANAGER}`);
    this.#slices = new view.KubeListView(client, kube.R.endpointSlice, undefined, SliceSchema, log, `${MANAGED_BY_LABEL}=${SLICE_MANAGER}`);
    this.#gateways = new view.KubeListView(client, kube.R.gateway, namespace, GatewayObjectSchema, log);
    this.#clusters = new view.KubeListView(client, kube.R.cluster, namespace, ClusterObjectSchema, log);
    this.sources = [this.#imports, this.#slices, this.#gateways, this.#clusters];
  }

  imports(): ClustersetImport[] {
    const statuses: GatewayStatus[] = this.#gateways.objects().flatMap((g) => (g.status ? [g.status] : []));
    const slices = new Map<string, z.infer<typeof SliceSchema>[]>();
    for (const s of this.#slices.objects()) {
      const key = `${s.metadata.namespace}/${s.metadata.labels?.[MCS_SERVICE_NAME_LABEL] ?? ""}`;
      slices.set(key, [...(slices.get(key) ?? []), s]);
    }
    return this.#imports.objects().flatMap((o) => {
      const ip = o.spec.ips?.[0];
      if (!ip) return [];
      const key = `${o.metadata.namespace}/${o.metadata.name}`;
      const clusters = (slices.get(key) ?? []).flatMap((s) => {
        const clusterId = s.metadata.labels?.[MCS_SOURCE_CLUSTER_LABEL];
        if (!clusterId) return [];
        return [
          {
            clusterId,
            connected: clusterId === this.#localCluster || connectedVia(statuses, clusterId),
            endpoints: (s.endpoints ?? []).flatMap((e) => e.addresses.map((a) => ({ ip: a, ready: e.conditions?.ready !== false }))),
            ports: (s.ports ?? []).flatMap((p) => (p.port ? [{ ...(p.name ? { name: p.name } : {}), protocol: protocolOf(p.protocol), port: p.port }] : [])),
          },
        ];
      });
      const ports = (o.spec.ports ?? []).map((p) => ({ ...(p.name ? { name: p.name } : {}), protocol: protocolOf(p.protocol), port: p.port }));
      return [{ key, ip, ports, clusters, ...(o.spec.sessionAffinity === "ClientIP" ? { clientIpAffinity: true } : {}) }];
    });
  }

  blocks(): string[] {
    return this.#clusters.objects().flatMap((c) => c.spec.clusterset_ip_cidr ?? []);
  }
}

/**
 * Pure: imports with clusterset IPs from every cluster's exports, for standalone sites — by the
 * lighthouse's rules (common/src/exports.ts): the oldest export's type and address, the exports
 * of that type, the import's ports their union (as the ServiceImport has them in Kubernetes mode).
 */
export function importsFromExports(exports: readonly ExportRecord[], localCluster: string, connected: (clusterId: string) => boolean): ClustersetImport[] {
  const out: ClustersetImport[] = [];
  for (const [key, list] of exportsByService(exports)) {
    const oldest = list[0]?.value;
    if (oldest?.type !== "ClusterSetIP" || !oldest.clustersetIp) continue;
    const members = list.filter((e) => e.value.type === "ClusterSetIP");
    out.push({
      key,
      ip: oldest.clustersetIp,
      ports: mergePorts(members).ports,
      ...(oldest.sessionAffinity === "ClientIP" ? { clientIpAffinity: true } : {}),
      clusters: members.map((m) => ({
        clusterId: m.clusterId,
        connected: m.clusterId === localCluster || connected(m.clusterId),
        endpoints: m.value.endpoints.map((e) => ({ ip: e.ip, ready: e.ready })),
        ports: m.value.ports.map((p) => ({ ...(p.name ? { name: p.name } : {}), protocol: p.protocol, port: p.targetPort ?? p.port })),
      })),
    });
  }
  return out;
}

/** Standalone mode: the broker's exports, this cluster's gateway statuses and the cluster records (a view that follows those kinds). */
export class BrokerClustersetSource implements ClustersetSource {
  readonly #view: view.BrokerEndpointView;
  readonly #localCluster: string;
  readonly sources: readonly view.Source[];

  constructor(brokerView: view.BrokerEndpointView, localCluster: string) {
    this.#view = brokerView;
    this.#localCluster = localCluster;
    this.sources = [];
  }

  imports(): ClustersetImport[] {
    const statuses = this.#view
      .records("gateway")
      .filter((r) => r.clusterId === this.#localCluster)
      .map((r) => r.value);
    // Globalnet: other clusters' exports are reached at their global addresses only.
    const globalnet = this.#view.records("cluster").some((r) => r.clusterId === this.#localCluster && r.value.global_cidr.length > 0);
    return importsFromExports(
      usableExports(
        this.#view.records("export").map((r) => ({ clusterId: r.clusterId, value: r.value })),
        this.#localCluster,
        globalnet,
      ),
      this.#localCluster,
      (id) => connectedVia(statuses, id),
    );
  }

  blocks(): string[] {
    return this.#view.records("cluster").flatMap((r) => r.value.clusterset_ip_cidr ?? []);
  }
}
