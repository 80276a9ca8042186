/**
 * Globalnet: clusters whose pod and service CIDRs overlap meet through global addresses. Every
 * member gets a global CIDR of its own (a block of the broker's range); across the clusterset a
 * cluster is known only by it: remote routes point at global CIDRs, a cluster's pods leave with a
 * source of its egress pool, and an exported service is reached at a global ingress IP that the
 * exporting cluster's active gateway translates. Pure helpers, no I/O.
 */
import { z } from "zod";
import { intToIp, ipToInt, isIPv4Cidr, parseCidr } from "./cidr.ts";
import { allocateBetween } from "./clustersetip.ts";
import { ValidationError } from "./errors.ts";

/** Submariner's defaults: `deploy-broker --globalnet-cidr-range 242.0.0.0/8`, 65,536 addresses (a /16) per cluster. */
export const GLOBALNET_CIDR_RANGE = "242.0.0.0/8";
export const GLOBALNET_CLUSTER_SIZE = 65536;
/** The egress pool: the number of global addresses a cluster's pods leave with (Submariner's ClusterGlobalEgressIP count). */
export const GLOBALNET_EGRESS_IPS = 8;
/** The smallest global CIDR: the health-check address, the egress pool and a few ingress addresses. */
export const GLOBALNET_MIN_PREFIX = 28;

/** The broker's globalnet settings (`deploy-broker --globalnet …`); every member reads them from the broker. */
export const GlobalnetSettingsSchema = z.union([
  z.strictObject({ enabled: z.literal(false), cidrRange: z.literal(""), clusterSize: z.literal(0) }),
  z.strictObject({
    enabled: z.literal(true),
    cidrRange: z.string().refine(isIPv4Cidr, "must be an IPv4 CIDR like 242.0.0.0/8"),
    /** Addresses per cluster, a power of two (the broker rounds up). */
    clusterSize: z.number().int().positive(),
  }),
]);
export type GlobalnetSettings = z.infer<typeof GlobalnetSettingsSchema>;

export const GLOBALNET_OFF: GlobalnetSettings = { enabled: false, cidrRange: "", clusterSize: 0 };

/**
 * Pure: the prefix of a block holding `size` addresses (rounded up to a power of two, as
 * subctl does), checked against the range; ValidationError naming the flag otherwise.
 */
export function globalnetPrefix(size: number, range: string): number {
  const r = parseCidr(range);
  if (!r) throw new ValidationError(`--globalnet-cidr-range ${range} is not an IPv4 CIDR like 242.0.0.0/8`);
  if (!Number.isInteger(size) || size < 1) throw new ValidationError(`--default-globalnet-cluster-size ${size} must be a positive whole number of addresses`);
  const prefix = 32 - Math.ceil(Math.log2(size));
  if (prefix > GLOBALNET_MIN_PREFIX) {
    throw new ValidationError(
      `--default-globalnet-cluster-size ${size} is too small: a cluster needs at least ${2 ** (32 - GLOBALNET_MIN_PREFIX)} global addresses (its health-check address, ${GLOBALNET_EGRESS_IPS} egress addresses and its services)`,
    );
  }
  if (prefix < r.prefix) {
    throw new ValidationError(`--default-globalnet-cluster-size ${size} does not fit in --globalnet-cidr-range ${range} (${2 ** (32 - r.prefix)} addresses)`);
  }
  return prefix;
}

/** Pure: settings from deploy-broker's flags (validated; the size rounded up to a power of two). */
export function globalnetSettings(o: { enabled: boolean; cidrRange?: string; clusterSize?: number }): GlobalnetSettings {
  if (!o.enabled) {
    const stray = o.cidrRange !== undefined ? "--globalnet-cidr-range" : o.clusterSize !== undefined ? "--default-globalnet-cluster-size" : "";
    if (stray) throw new ValidationError(`${stray} applies only with --globalnet; add --globalnet, or drop ${stray}`);
    return GLOBALNET_OFF;
  }
  const cidrRange = o.cidrRange ?? GLOBALNET_CIDR_RANGE;
  const prefix = globalnetPrefix(o.clusterSize ?? GLOBALNET_CLUSTER_SIZE, cidrRange);
  return { enabled: true, cidrRange, clusterSize: 2 ** (32 - prefix) };
}

/**
 * The fixed addresses of a cluster's global CIDR: the first host address answers the remote
 * gateways' health checks, the next eight are the egress pool, the last sixteenth (before the
 * last address, never used) is for namespaces' own egress pools (GlobalEgressIP), and the
 * services' ingress addresses come from the rest.
 */
export interface GlobalAddresses {
  readonly healthCheckIP: string;
  readonly egressIPs: readonly string[];
  /** The first and last address an ingress allocation may hand out (inclusive). */
  readonly ingressFirst: number;
  readonly ingressLast: number;
  /** The first and last address of the namespaces' egress pools (inclusive). */
  readonly namespaceEgressFirst: number;
  readonly namespaceEgressLast: number;
}

/** Pure: the layout of `globalCidr`; undefined when it is not a CIDR or smaller than a /28. */
export function globalAddresses(globalCidr: string): GlobalAddresses | undefined {
  const c = parseCidr(globalCidr);
  if (!c || c.prefix > GLOBALNET_MIN_PREFIX) return undefined;
  const size = 2 ** (32 - c.prefix);
  const namespaces = Math.max(1, size / 16);
  const egressIPs = Array.from({ length: GLOBALNET_EGRESS_IPS }, (_, i) => intToIp(c.base + 2 + i));
  return {
    healthCheckIP: intToIp(c.base + 1),
    egressIPs,
    ingressFirst: c.base + 2 + GLOBALNET_EGRESS_IPS,
    ingressLast: c.base + size - 2 - namespaces,
    namespaceEgressFirst: c.base + size - 1 - namespaces,
    namespaceEgressLast: c.base + size - 2,
  };
}

/**
 * Pure: a global ingress address of `globalCidr` for `key` (an exported service, or one endpoint
 * of a headless one) that `taken` does not hold. The search starts at a place derived from the
 * key, so a service exported again gets its old address back while it is free. Undefined when the
 * ingress part of the CIDR is full.
 */
export function allocateGlobalIp(globalCidr: string, key: string, taken: Pick<ReadonlySet<string>, "has">): string | undefined {
  const a = globalAddresses(globalCidr);
  return a ? allocateBetween(a.ingressFirst, a.ingressLast, key, taken) : undefined;
}

/** Pure: whether `ip` is an ingress address of `globalCidr` (what an allocation may hand out). */
export function isGlobalIngressIp(globalCidr: string, ip: string): boolean {
  const a = globalAddresses(globalCidr);
  if (!a) return false;
  const n = ipToInt(ip);
  return n >= a.ingressFirst && n <= a.ingressLast;
}

/** Pure: how many ingress addresses `globalCidr` has (what the metrics call total). */
export function globalIngressCapacity(globalCidr: string): number {
  const a = globalAddresses(globalCidr);
  return a ? a.ingressLast - a.ingressFirst + 1 : 0;
}
