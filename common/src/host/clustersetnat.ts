/**
 * Clusterset IPs that route: an nftables table of its own (`ip causeway-clusterset`) on every
 * node translates a connection to a clusterset IP (MCS `ServiceImport.spec.ips`) and service
 * port into one of the service's chosen endpoints (a pod IP and its target port) — the local
 * cluster's while it has a ready one, else those of the connected clusters that have. One map
 * lookup per new connection (`ip daddr . meta l4proto . th dport` → a chain per service port),
 * a random (or, for ClientIP affinity, source-hashed) pick among the endpoints there.
 *
 * Why endpoints and not the chosen cluster's Service IP: the kernel sets up a connection's
 * destination NAT once, in the first chain of a hook that does it; every later NAT chain of the
 * hook — kube-proxy's, iptables or nftables — is skipped for that connection. Translating to a
 * Service IP would leave it unrouted. So the chains run before kube-proxy's (prerouting at
 * dstnat - 10 for pods, output at -110 for the node's own processes) and go straight to pods.
 * Addresses of the clusterset blocks that no service (or no ready endpoint) holds are refused
 * (ICMP admin-prohibited, TCP reset) instead of leaving the node on its default route.
 */
import { createHash } from "node:crypto";
import type { CommandRunner } from "../exec/index.ts";
import { type NftCollection, NftTable, type NftTableModel, type Observed, renderTable } from "./nfttable.ts";

export const CLUSTERSET_NAT_TABLE = "causeway-clusterset";

export interface ClustersetTarget {
  readonly ip: string;
  readonly port: number;
}

export interface ClustersetPort {
  readonly protocol: "TCP" | "UDP" | "SCTP";
  readonly port: number;
  /** Where connections go; none: refused like an unallocated address. */
  readonly targets: readonly ClustersetTarget[];
}

export interface ClustersetService {
  /** `namespace/name` (the chains' comment). */
  readonly key: string;
  readonly ip: string;
  readonly ports: readonly ClustersetPort[];
  /** ClientIP session affinity: a client's connections go to the same endpoint while the set stays the same. */
  readonly clientIpAffinity?: boolean;
}

export interface ClustersetNatSpec {
  readonly services: readonly ClustersetService[];
  /** The clusterset IP blocks of the clusterset: their unserved addresses are refused. */
  readonly blocks: readonly string[];
}

export interface ClustersetNat {
  /** The digest of the spec the table was last made from; undefined when there is no table. */
  observe(): Promise<string | undefined>;
  /** Makes the table the spec's, atomically (undefined: deletes it); `seen`: what observe() gave just before, in the same pass. */
  apply(spec: ClustersetNatSpec | undefined, seen?: Observed): Promise<void>;
}

const PROTO: Record<ClustersetPort["protocol"], string> = { TCP: "tcp", UDP: "udp", SCTP: "sctp" };

/** Numeric-aware string order (one collator: `localeCompare` with options builds one per call, 30× slower on 1,000 services). */
export const NUMERIC = new Intl.Collator("en", { numeric: true }).compare;

/** Pure: services in a canonical order (by address, ports by protocol and number, targets by address and port). */
export function canonicalServices(services: readonly ClustersetService[]): ClustersetService[] {
  const byTarget = (a: ClustersetTarget, b: ClustersetTarget) => NUMERIC(a.ip, b.ip) || a.port - b.port;
  return [...services]
    .map((s) => ({
      key: s.key,
      ip: s.ip,
      ...(s.clientIpAffinity ? { clientIpAffinity: true } : {}),
      ports: [...s.ports]
        .map((p) => ({ protocol: p.protocol, port: p.port, targets: [...p.targets].sort(byTarget) }))
        .sort((a, b) => a.protocol.localeCompare(b.protocol) || a.port - b.port),
    }))
    .sort((a, b) => NUMERIC(a.ip, b.ip));
}

/** Pure: the spec in a canonical order. */
function canonical(spec: ClustersetNatSpec): ClustersetNatSpec {
  return { blocks: [...new Set(spec.blocks)].sort(), services: canonicalServices(spec.services) };
}

/** Pure: the name of a service port's chain: from its address, protocol and port, so it stays the same whatever else changes. */
export function serviceChainName(ip: string, proto: string, port: number): string {
  return `svc-${ip.replaceAll(".", "-")}-${proto}-${port}`;
}

/**
 * Pure: the nft parts of canonical `services` — a chain per service port that translates to one
 * of its targets (its comment, then its rule), the `services` map's elements (address . protocol
 * . port : goto chain) and the hairpin pairs (every target . itself).
 */
export function serviceChains(services: readonly ClustersetService[]): { chains: Map<string, string[]>; elements: string[]; hairpin: string[] } {
  const chains = new Map<string, string[]>();
  const elements: string[] = [];
  for (const s of services) {
    for (const p of s.ports) {
      if (!p.targets.length) continue;
      const proto = PROTO[p.protocol];
      const chain = serviceChainName(s.ip, proto, p.port);
      const pick = s.clientIpAffinity ? `jhash ip saddr mod ${p.targets.length}` : `numgen random mod ${p.targets.length}`;
      const map = p.targets.map((t, j) => `${j} : ${t.ip} . ${t.port}`).join(", ");
      elements.push(`${s.ip} . ${proto} . ${p.port} : goto ${chain}`);
      chains.set(chain, [`comment "${s.key} ${p.protocol}/${p.port}"`, `meta l4proto ${proto} dnat ip to ${pick} map { ${map} }`]);
    }
  }
  const hairpin = [...new Set(services.flatMap((s) => s.ports.flatMap((p) => p.targets.map((t) => t.ip))))].map((ip) => `${ip} . ${ip}`);
  return { chains, elements, hairpin };
}

/** Pure: a short digest of a table's canonical spec (kept in the table's state chain: an unchanged spec rewrites nothing). */
export function specDigest(canonicalSpec: unknown): string {
  return createHash("sha256").update(JSON.stringify(canonicalSpec)).digest("hex").slice(0, 16);
}

/** Pure: a short digest of the spec (kept in the table's state chain: an unchanged spec rewrites nothing). */
export function clustersetNatDigest(spec: ClustersetNatSpec): string {
  return specDigest(canonical(spec));
}

const SERVICES_MAP: NftCollection = { kind: "map", spec: ["type ipv4_addr . inet_proto . inet_service : verdict"], elements: [] };

/** Pure: what the table holds for the spec. */
export function clustersetNatModel(spec: ClustersetNatSpec): NftTableModel {
  const c = canonical(spec);
  const { chains, elements, hairpin } = serviceChains(c.services);
  const lookup = "ip daddr . meta l4proto . th dport vmap @services";
  return {
    digest: specDigest(c),
    collections: new Map<string, NftCollection>([
      ["services", { ...SERVICES_MAP, elements }],
      // An endpoint that reaches its own service by the clusterset IP: translated back to itself,
      // it would answer itself directly; masqueraded, its reply comes back through the node.
      ["hairpin", { kind: "set", spec: ["type ipv4_addr . ipv4_addr"], elements: hairpin }],
      ["blocks", { kind: "set", spec: ["type ipv4_addr", "flags interval"], elements: c.blocks }],
    ]),
    chains,
    base: [
      "  chain prerouting {",
      "    type nat hook prerouting priority dstnat - 10; policy accept;",
      `    ${lookup}`,
      "  }",
      // nft 1.0.6 refuses "dstnat - 10" in output; -110 is the same place (dstnat is -100).
      "  chain output {",
      "    type nat hook output priority -110; policy accept;",
      `    ${lookup}`,
      "  }",
      "  chain postrouting {",
      "    type nat hook postrouting priority srcnat; policy accept;",
      "    ct status dnat ip saddr . ip daddr @hairpin masquerade",
      "  }",
      // After NAT: what still goes to a clusterset block found no service port with an endpoint.
      "  chain refuse-forward {",
      "    type filter hook forward priority filter - 10; policy accept;",
      "    ip daddr @blocks meta l4proto tcp reject with tcp reset",
      "    ip daddr @blocks reject with icmp type admin-prohibited",
      "  }",
      "  chain refuse-output {",
      "    type filter hook output priority filter - 10; policy accept;",
      "    ip daddr @blocks meta l4proto tcp reject with tcp reset",
      "    ip daddr @blocks reject with icmp type admin-prohibited",
      "  }",
    ],
  };
}

/** Pure: the `nft -f` script that (re)creates the table in one transaction, or deletes it. */
export function renderClustersetNat(spec: ClustersetNatSpec | undefined): string {
  return renderTable(CLUSTERSET_NAT_TABLE, spec ? clustersetNatModel(spec) : undefined);
}

/** The clusterset table on this node: replaced at first, then updated by what changed (nfttable.ts). */
export class NftClustersetNat implements ClustersetNat {
  readonly #table: NftTable;
  constructor(runner: CommandRunner) {
    this.#table = new NftTable(runner, CLUSTERSET_NAT_TABLE);
  }

  observe(): Promise<string | undefined> {
    return this.#table.observe();
  }

  async apply(spec: ClustersetNatSpec | undefined, seen?: Observed): Promise<void> {
    await this.#table.apply(spec ? clustersetNatModel(spec) : undefined, seen);
  }
}

export class FakeClustersetNat implements ClustersetNat {
  spec: ClustersetNatSpec | undefined;
  async observe(): Promise<string | undefined> {
    return this.spec ? clustersetNatDigest(this.spec) : undefined;
  }
  async apply(spec: ClustersetNatSpec | undefined): Promise<void> {
    this.spec = spec ? canonical(spec) : undefined;
  }
}
