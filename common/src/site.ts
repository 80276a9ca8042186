import { readFileSync } from "node:fs";
import {
  cidrContains,
  ClusterIdSchema,
  Dns1123LabelSchema,
  errorMessage,
  formatIssues,
  intToIp,
  isIPv4,
  isIPv4Cidr,
  parseCidr,
  ValidationError,
} from "@causeway/api";
import { parseYaml } from "./yaml.ts";
import { z } from "zod";

import { GATEWAY_MODES, INTRA_CLUSTER_MODES } from "@causeway/api";

export { INTRA_CLUSTER_MODES, type IntraClusterMode } from "@causeway/api";

const Ip = z.string().refine(isIPv4, "must be an IPv4 address");
const Cidr = z.string().refine(isIPv4Cidr, "must be an IPv4 CIDR like 10.1.0.0/16");

export const SiteNodeSchema = z.strictObject({
  name: z.string().min(1).max(63),
  /** The node's address on the cluster network (its InternalIP). */
  ip: Ip,
  /** The node's slice of the pod network. */
  podCIDR: Cidr,
  /** The node's address inside its pod network (the CNI bridge); defaults to the first host of podCIDR. */
  cniIP: Ip.optional(),
  /** Whether this node may run the gateway. */
  gateway: z.boolean().default(false),
  /** Gateway nodes: public IP resolvers, e.g. "ipv4:203.0.113.7" or "dns:gw.example.com" (the gateway's --public-ip wins). */
  publicIp: z.string().optional(),
});

const Label = Dns1123LabelSchema;

/** A service of a standalone site (what a Service and its EndpointSlices say in Kubernetes mode), exportable with `causeway export service`. */
export const SiteServiceSchema = z.strictObject({
  namespace: Label,
  name: Label,
  type: z.enum(["ClusterSetIP", "Headless"]).default("ClusterSetIP"),
  /** ClusterSetIP: its virtual IP in this cluster. */
  ip: Ip.optional(),
  ports: z
    .array(
      z.strictObject({
        name: z.string().max(63).optional(),
        protocol: z.enum(["TCP", "UDP", "SCTP"]).default("TCP"),
        port: z.number().int().min(1).max(65535),
        /** The endpoints' port (default: port); TCP target ports are probed for readiness. */
        targetPort: z.number().int().min(1).max(65535).optional(),
      }),
    )
    .default([]),
  endpoints: z.array(z.strictObject({ ip: Ip, hostname: Label.optional() })).default([]),
});
export type SiteService = z.infer<typeof SiteServiceSchema>;

/** A standalone site: one cluster described by a file instead of an API server. */
export const SiteSchema = z
  .strictObject({
    clusterId: ClusterIdSchema,
    clusterCIDRs: z.array(Cidr).min(1),
    serviceCIDRs: z.array(Cidr).default([]),
    /**
     * Globalnet: the global CIDR the site joins with (what `join --globalnet-cidr` says); absent,
     * the broker gives the next free block of its range. The broker's record is what the
     * components follow.
     */
    globalnetCIDR: Cidr.optional(),
    cableDriver: z.string().min(1).default("vxlan"),
    /**
     * How non-gateway nodes reach the active gateway: "vxlan" (vx-causeway, works over any
     * network between nodes) or "direct" (plain routes via the gateway's node IP: no
     * encapsulation, for nodes on one L2 segment whose network accepts pod source addresses).
     */
    intraCluster: z.enum(INTRA_CLUSTER_MODES).default("vxlan"),
    /**
     * active-passive (one elected gateway carries the cluster's cross-cluster traffic) or
     * active-active (every gateway node does, flows spread over them): docs/architecture.md.
     */
    gatewayMode: z.enum(GATEWAY_MODES).default("active-passive"),
    broker: z.strictObject({
      /** host:port or unix:///path */
      address: z.string().min(1),
      tokenFile: z.string().min(1),
      /** PEM file of the broker's CA: the broker is dialled over TLS (absent: plaintext, e.g. the lab). */
      caFile: z.string().min(1).optional(),
      /** The clusterset's cable secret (broker-info's cableSecret): WireGuard peers derive their preshared key from it. */
      cableSecretFile: z.string().min(1).optional(),
    }),
    nodes: z.array(SiteNodeSchema).min(1),
    services: z.array(SiteServiceSchema).default([]),
  })
  .superRefine((s, ctx) => {
    const names = new Set<string>();
    s.nodes.forEach((n, i) => {
      if (names.has(n.name)) ctx.addIssue({ code: "custom", path: ["nodes", i, "name"], message: `duplicate node name ${n.name}` });
      names.add(n.name);
      if (!s.clusterCIDRs.some((c) => podCidrInside(n.podCIDR, c))) {
        ctx.addIssue({ code: "custom", path: ["nodes", i, "podCIDR"], message: `${n.podCIDR} is not inside clusterCIDRs ${s.clusterCIDRs.join(", ")}` });
      }
    });
    const svcs = new Set<string>();
    s.services.forEach((v, i) => {
      if (svcs.has(`${v.namespace}/${v.name}`))
        ctx.addIssue({ code: "custom", path: ["services", i, "name"], message: `duplicate service ${v.namespace}/${v.name}` });
      svcs.add(`${v.namespace}/${v.name}`);
      if (v.type === "ClusterSetIP" && !v.ip) ctx.addIssue({ code: "custom", path: ["services", i, "ip"], message: "a ClusterSetIP service needs its ip" });
    });
    if (!s.nodes.some((n) => n.gateway)) ctx.addIssue({ code: "custom", path: ["nodes"], message: "no node has gateway: true" });
  });

function podCidrInside(inner: string, outer: string): boolean {
  const i = parseCidr(inner);
  const o = parseCidr(outer);
  return Boolean(i && o && i.prefix >= o.prefix && cidrContains(outer, intToIp(i.base)));
}

export type Site = z.infer<typeof SiteSchema>;
export type SiteNode = z.infer<typeof SiteNodeSchema>;

/** The node's CNI address: cniIP, or the first host address of its pod CIDR. */
export function cniIpOf(n: SiteNode): string {
  if (n.cniIP) return n.cniIP;
  const c = parseCidr(n.podCIDR);
  return c ? intToIp(c.base + 1) : "";
}

/** Reads and validates a site file; throws ValidationError naming the file and every problem. */
export function loadSite(path: string): Site {
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(path, "utf8"));
  } catch (err) {
    throw new ValidationError(`cannot read site file ${path}`, [errorMessage(err)]);
  }
  const res = SiteSchema.safeParse(raw);
  if (!res.success) throw new ValidationError(`invalid site file ${path}`, formatIssues(res.error));
  return res.data;
}

/** The node named `name`, or a ValidationError listing the known ones. */
export function siteNode(site: Site, name: string): SiteNode {
  const n = site.nodes.find((x) => x.name === name);
  if (!n) throw new ValidationError(`node "${name}" is not in the site file; nodes are: ${site.nodes.map((x) => x.name).join(", ")}`);
  return n;
}

/** A secret kept in a file (a broker token, the cable secret), trimmed; a ValidationError naming the file otherwise. */
export function readToken(path: string, what = "broker token"): string {
  try {
    return readFileSync(path, "utf8").trim();
  } catch (err) {
    throw new ValidationError(`cannot read ${what} file ${path}`, [errorMessage(err)]);
  }
}
