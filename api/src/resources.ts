import { z } from "zod";
import { isIPv4, isIPv4Cidr } from "./cidr.ts";

/** A DNS-1123 label: what Kubernetes and the MCS DNS names accept as a cluster id. */
export const ClusterIdSchema = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "must be a DNS-1123 label (lowercase letters, digits, '-')");

// `format` reaches the CRDs generated from these schemas (the API server validates it too).
const Ipv4 = z.string().refine(isIPv4, "must be an IPv4 address").meta({ format: "ipv4" });
const Ipv4OrEmpty = z.string().refine((s) => s === "" || isIPv4(s), "must be an IPv4 address or empty");
const Cidr = z.string().refine(isIPv4Cidr, "must be an IPv4 CIDR like 10.1.0.0/16 (network address, prefix 0-32)").meta({ format: "cidr" });

export const CABLE_DRIVERS = ["vxlan", "wireguard"] as const;
export const CableDriverSchema = z.enum(CABLE_DRIVERS);
export type CableDriverName = z.infer<typeof CableDriverSchema>;

/** Cluster: Submariner's ClusterSpec shape (reference §2.2). */
export const ClusterSchema = z.strictObject({
  cluster_id: ClusterIdSchema,
  cluster_cidr: z.array(Cidr).min(1, "a cluster needs at least one pod CIDR"),
  service_cidr: z.array(Cidr),
  global_cidr: z.array(Cidr).default([]),
  /**
   * The block this cluster allocates clusterset IPs (MCS `ServiceImport.spec.ips`) from, one per
   * IP family: `join --clusterset-ip-cidr`, else the broker's pick (the next free /20 of
   * 243.0.0.0/8). Absent or empty in a request: "allocate, or keep the one the broker gave".
   */
  clusterset_ip_cidr: z.array(Cidr).optional(),
});
export type Cluster = z.infer<typeof ClusterSchema>;

/** Endpoint: one per active gateway, Submariner's EndpointSpec field names (reference §2.1). */
export const EndpointSchema = z.strictObject({
  cluster_id: ClusterIdSchema,
  cable_name: z.string().min(1).max(253),
  healthCheckIP: Ipv4OrEmpty.default(""),
  hostname: z.string().min(1).max(253),
  subnets: z.array(Cidr).min(1),
  private_ip: Ipv4,
  public_ip: Ipv4OrEmpty.default(""),
  nat_enabled: z.boolean().default(false),
  backend: CableDriverSchema,
  backend_config: z.record(z.string(), z.string()).default({}),
});
export type Endpoint = z.infer<typeof EndpointSchema>;

export const CONNECTION_STATUSES = ["connected", "connecting", "error", "none"] as const;

export const LatencySchema = z.strictObject({
  last: z.string(),
  min: z.string(),
  average: z.string(),
  max: z.string(),
  stdDev: z.string(),
});

export const ConnectionSchema = z.strictObject({
  status: z.enum(CONNECTION_STATUSES),
  statusMessage: z.string().default(""),
  endpoint: EndpointSchema,
  usingIP: Ipv4OrEmpty.default(""),
  usingNAT: z.boolean().default(false),
  latencyRTT: LatencySchema.optional(),
});
export type Connection = z.infer<typeof ConnectionSchema>;

/**
 * What an active gateway carries (Causeway's, beyond Submariner's fields): the bytes through its
 * cable devices since they were made (all remote gateways together) and the open flows its host
 * tracks to or from the remote clusters' subnets. Counted when the status is refreshed (every
 * 5 s at most), so a status write is never made for traffic alone more often than that.
 */
export const GatewayTrafficSchema = z.strictObject({
  rxBytes: z.number().int().nonnegative(),
  txBytes: z.number().int().nonnegative(),
  /** Absent when the host cannot count them (no conntrack). */
  flows: z.number().int().nonnegative().optional(),
});
export type GatewayTraffic = z.infer<typeof GatewayTrafficSchema>;

/** Gateway status (reference §2.3), published by each gateway under its hostname. */
export const GatewayStatusSchema = z.strictObject({
  version: z.string(),
  haStatus: z.enum(["active", "passive"]),
  localEndpoint: EndpointSchema.optional(),
  statusFailure: z.string().default(""),
  connections: z.array(ConnectionSchema).default([]),
  /** An active gateway's traffic; absent on a passive one, or when its driver cannot count. */
  traffic: GatewayTrafficSchema.optional(),
  updatedAt: z.string(),
});
export type GatewayStatus = z.infer<typeof GatewayStatusSchema>;

/** A broker lease (standalone-mode gateway election). */
export const LeaseSchema = z.strictObject({
  holder: z.string().min(1),
  ttlMs: z.number().int().positive(),
  renewedAtMs: z.number().int().nonnegative(),
});
export type Lease = z.infer<typeof LeaseSchema>;

/** A DNS-1123 label (namespace and service names, endpoint hostnames). */
export const Dns1123LabelSchema = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "must be a DNS-1123 label (lowercase letters, digits, '-')");

export const ServiceExportPortSchema = z.strictObject({
  name: z.string().max(63).optional(),
  protocol: z.enum(["TCP", "UDP", "SCTP"]).default("TCP"),
  port: z.number().int().min(1).max(65535),
  /** The port on the endpoints (the Service's targetPort as its EndpointSlices give it; the site file's); the service port when absent. */
  targetPort: z.number().int().min(1).max(65535).optional(),
});

/**
 * A service one cluster exports (MCS ServiceExport, with what other clusters need to import it):
 * its type, its IP in the exporting cluster (ClusterSetIP), ports, and endpoints with readiness.
 * Named `<namespace>.<name>`, owned by the exporting cluster.
 */
export const ServiceExportSchema = z.strictObject({
  namespace: Dns1123LabelSchema,
  name: Dns1123LabelSchema,
  type: z.enum(["ClusterSetIP", "Headless"]),
  /** ClusterSetIP: the Service's cluster IP in the exporting cluster. */
  ip: Ipv4OrEmpty.default(""),
  /**
   * ClusterSetIP: the clusterset IP of the service as this cluster's exporter knows it — the one
   * an earlier export of the name holds, else one it allocated from its cluster's block. The
   * import's address is the oldest export's.
   */
  clustersetIp: Ipv4.optional(),
  /**
   * Globalnet, ClusterSetIP: the service's global ingress IP, from the exporting cluster's global
   * CIDR; its active gateway translates it to the ready endpoints. Other clusters reach the
   * service only there (its `ip` and endpoints' addresses may be theirs too).
   */
  globalIp: Ipv4.optional(),
  ports: z.array(ServiceExportPortSchema).default([]),
  endpoints: z
    .array(
      z.strictObject({
        ip: Ipv4,
        hostname: Dns1123LabelSchema.optional(),
        ready: z.boolean(),
        /** Globalnet, Headless: a ready endpoint's own global IP (its gateway translates the whole address, both ways). */
        globalIp: Ipv4.optional(),
      }),
    )
    .default([]),
  /** When the export was created (MCS conflict resolution: the oldest export wins). */
  exportedAt: z.string(),
  /** The Service's attributes an import carries (Kubernetes mode; MCS: the oldest export's win). */
  sessionAffinity: z.enum(["ClientIP", "None"]).optional(),
  sessionAffinityTimeoutSeconds: z.number().int().min(1).max(86400).optional(),
  internalTrafficPolicy: z.enum(["Cluster", "Local"]).optional(),
  trafficDistribution: z.string().max(253).optional(),
  /** Set while the exported service does not exist (exported before its service): why; such an export is kept but imported nowhere. */
  unavailable: z.string().max(1024).optional(),
});
export type ServiceExport = z.infer<typeof ServiceExportSchema>;

/** The broker record name of an export. */
/** Pure: an export kept at the broker but imported nowhere (its service does not exist, or it stands for no service): `why` says which. */
export function unavailableExport(e: Pick<ServiceExport, "namespace" | "name" | "type" | "exportedAt">, why: string): ServiceExport {
  return { namespace: e.namespace, name: e.name, type: e.type, ip: "", ports: [], endpoints: [], exportedAt: e.exportedAt, unavailable: why };
}

export function exportName(namespace: string, name: string): string {
  return `${namespace}.${name}`;
}

/** The kinds of record the broker stores and clients may read and write. */
export const KINDS = ["cluster", "endpoint", "gateway", "lease", "export"] as const;
export type Kind = (typeof KINDS)[number];
export const KindSchema = z.enum(KINDS);

export const SCHEMAS = {
  cluster: ClusterSchema,
  endpoint: EndpointSchema,
  gateway: GatewayStatusSchema,
  lease: LeaseSchema,
  export: ServiceExportSchema,
} as const satisfies Record<Kind, z.ZodType>;

export type ValueOf<K extends Kind> = z.infer<(typeof SCHEMAS)[K]>;

/** Submariner's EnsureValidName: lowercase, anything outside [a-z0-9.-] becomes '-', trim '-'. */
export function ensureValidName(s: string): string {
  return s
    .toLowerCase()
    .replace(/[^a-z0-9.-]/g, "-")
    .replace(/^-+|-+$/g, "");
}

/** The cable name of a gateway: causeway-cable-<cluster>-<private ip with dashes>. */
export function cableName(clusterId: string, privateIp: string): string {
  return `causeway-cable-${clusterId}-${privateIp.replaceAll(".", "-")}`;
}
