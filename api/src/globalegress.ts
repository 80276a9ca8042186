/**
 * Globalnet's per-namespace egress pools: a GlobalEgressIP in a namespace gives the pods it
 * selects (all of the namespace's without a selector) egress addresses of their own, from the
 * last sixteenth of the cluster's global CIDR (globalAddresses: namespaceEgressFirst…Last), so a
 * tenant leaves with a stable source other clusters can tell apart. The active gateway allocates
 * them (kept while valid, the oldest object first on a clash), reports them in the object's
 * status and translates each selected pod to one of them. Pure helpers, no I/O.
 */
import { z } from "zod";
import { intToIp, ipToInt } from "./cidr.ts";
import { allocateBetween } from "./clustersetip.ts";
import { globalAddresses } from "./globalnet.ts";

/** The most addresses one GlobalEgressIP may ask for (Submariner's limit: 20). */
export const MAX_EGRESS_IPS_PER_OBJECT = 20;

export const LabelSelectorSchema = z.strictObject({
  matchLabels: z.record(z.string(), z.string()).optional(),
  matchExpressions: z
    .array(
      z.strictObject({
        key: z.string().min(1),
        operator: z.enum(["In", "NotIn", "Exists", "DoesNotExist"]),
        values: z.array(z.string()).optional(),
      }),
    )
    .optional(),
});
export type LabelSelector = z.infer<typeof LabelSelectorSchema>;

export const GlobalEgressIPSpecSchema = z.strictObject({
  /** How many addresses the pool has (default 1). */
  numberOfIPs: z.number().int().min(1).max(MAX_EGRESS_IPS_PER_OBJECT).optional(),
  /** Which of the namespace's pods leave through it (absent: every pod of the namespace). */
  podSelector: LabelSelectorSchema.optional(),
});
export type GlobalEgressIPSpec = z.infer<typeof GlobalEgressIPSpecSchema>;

export const GlobalEgressIPStatusSchema = z.strictObject({
  /** The pool's addresses (empty: none could be given; `message` says why). */
  allocatedIPs: z.array(z.string()).default([]),
  message: z.string().default(""),
});
export type GlobalEgressIPStatus = z.infer<typeof GlobalEgressIPStatusSchema>;

/** Pure: whether `labels` are selected by `selector` (Kubernetes' rules; absent selector: everything). */
export function selects(selector: LabelSelector | undefined, labels: Readonly<Record<string, string>> = {}): boolean {
  if (!selector) return true;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const value = labels[e.key];
    const inValues = has && (e.values ?? []).includes(value ?? "");
    const ok = e.operator === "In" ? inValues : e.operator === "NotIn" ? !inValues : e.operator === "Exists" ? has : /* DoesNotExist */ !has;
    if (!ok) return false;
  }
  return true;
}

/** One GlobalEgressIP as the allocation sees it. */
export interface EgressPoolRequest {
  readonly namespace: string;
  readonly name: string;
  readonly numberOfIPs: number;
  /** Its creation time (RFC 3339): the older keeps its addresses on a clash. */
  readonly createdAt: string;
  /** What its status holds now. */
  readonly allocated: readonly string[];
}

/** Pure: whether `ip` is one of the namespaces' egress addresses of `globalCidr`. */
export function isNamespaceEgressIp(globalCidr: string, ip: string): boolean {
  const a = globalAddresses(globalCidr);
  if (!a || !/^\d+\.\d+\.\d+\.\d+$/.test(ip)) return false;
  const n = ipToInt(ip);
  return n >= a.namespaceEgressFirst && n <= a.namespaceEgressLast;
}

/**
 * Pure: every GlobalEgressIP's pool, by `namespace/name`. The oldest object first (then by name)
 * keeps the addresses its status holds when they are still in the range, still its count and
 * nobody's before; the rest are given from a place derived from the object's name, so an object
 * made again gets its old addresses back while they are free. An object the range cannot fill
 * gets none, and its entry says so.
 */
export function allocateEgressPools(globalCidr: string, requests: readonly EgressPoolRequest[]): Map<string, { ips: string[]; message: string }> {
  const out = new Map<string, { ips: string[]; message: string }>();
  const a = globalAddresses(globalCidr);
  const order = [...requests].sort((x, y) => x.createdAt.localeCompare(y.createdAt) || `${x.namespace}/${x.name}`.localeCompare(`${y.namespace}/${y.name}`));
  const taken = new Set<string>();
  for (const r of order) {
    const key = `${r.namespace}/${r.name}`;
    if (!a) {
      out.set(key, { ips: [], message: `${globalCidr} is not a global CIDR this cluster can use` });
      continue;
    }
    const kept = r.allocated.length === r.numberOfIPs && r.allocated.every((ip) => isNamespaceEgressIp(globalCidr, ip) && !taken.has(ip));
    if (kept && new Set(r.allocated).size === r.allocated.length) {
      for (const ip of r.allocated) taken.add(ip);
      out.set(key, { ips: [...r.allocated], message: "" });
      continue;
    }
    const ips: string[] = [];
    for (let i = 0; i < r.numberOfIPs; i++) {
      const ip = allocateBetween(a.namespaceEgressFirst, a.namespaceEgressLast, `${key}#${i}`, { has: (x) => taken.has(x) || ips.includes(x) });
      if (!ip) break;
      ips.push(ip);
    }
    if (ips.length < r.numberOfIPs) {
      const size = a.namespaceEgressLast - a.namespaceEgressFirst + 1;
      out.set(key, {
        ips: [],
        message: `the namespaces' egress range of ${globalCidr} (${intToIp(a.namespaceEgressFirst)}-${intToIp(a.namespaceEgressLast)}, ${size} addresses) has ${size - taken.size} free, ${r.numberOfIPs} asked: ask for fewer, or delete another GlobalEgressIP`,
      });
      continue;
    }
    for (const ip of ips) taken.add(ip);
    out.set(key, { ips, message: "" });
  }
  return out;
}

/** Pure: the pool address a pod leaves with — one per pod, the same every time (a hash of its address), spread over the pool. */
export function poolAddressFor(podIp: string, pool: readonly string[]): string | undefined {
  if (!pool.length) return undefined;
  return pool[(ipToInt(podIp) >>> 0) % pool.length];
}
