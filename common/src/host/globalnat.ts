/**
 * Globalnet translation on the active gateway: an nftables table of its own
 * (`ip causeway-globalnet`) makes the cluster known to the clusterset only by its global CIDR.
 *
 * - Egress: a new connection leaving for a remote cluster's global CIDR gets a source of the
 *   cluster's egress pool (the kernel picks one per source/destination pair), or — an endpoint of
 *   an exported headless service — its own global address.
 * - Ingress: a global ingress IP and service port translate to one of the service's ready
 *   endpoints (a chain per service port, as the clusterset table has; straight to pods, so it
 *   works whatever kube-proxy's mode and needs no Service `externalIPs`); a whole address (the
 *   health-check address → the gateway's CNI address, a headless endpoint's address → its pod)
 *   translates whatever the port.
 * - Everything else sent to the cluster's global CIDR is refused (TCP reset, ICMP
 *   admin-prohibited), so an address freed by an unexport answers "refused" at once.
 *
 * Destination NAT runs at dstnat - 20, before kube-proxy's chains and the clusterset table; the
 * source NAT at srcnat - 20, before the route agent's source guard (srcnat - 10), whose identity
 * SNAT would otherwise keep the pod address. The table is replaced in one `nft -f` transaction at
 * first, then updated by what changed (nfttable.ts).
 *
 * When the table appears (this node becomes the active gateway) or goes (it steps down), the
 * node's connection-tracking entries for the global CIDRs are deleted: an entry made in the other
 * role would keep translating (or not translating) a flow the way it did then — a pod on the old
 * gateway's node would go on leaving with the egress address, whose replies now reach the new
 * gateway. The flow's next packet makes a new entry under the rules as they are.
 */
import { globalAddresses, intToIp } from "@causeway/api";
import type { CommandRunner } from "../exec/index.ts";
import { canonicalServices, type ClustersetService, NUMERIC, serviceChains, specDigest } from "./clustersetnat.ts";
import { type NftCollection, NftTable, type NftTableModel, type Observed, renderTable } from "./nfttable.ts";

export const GLOBALNET_NAT_TABLE = "causeway-globalnet";

/** A whole address translated both ways: `global` → `local` inbound, `local` → `global` as the source outbound (when `egress`). */
export interface GlobalHost {
  readonly global: string;
  readonly local: string;
  /** What it is (a map element comment is not kept by nft 1.0.6: for logs and diagnose). */
  readonly key: string;
  /** The local address also leaves with this global one (headless endpoints; not the health-check address). */
  readonly egress: boolean;
}

export interface GlobalNatSpec {
  /** This cluster's global CIDR: what no rule translates is refused. */
  readonly globalCidr: string;
  /** The egress pool: consecutive addresses (first-last). */
  readonly egressIPs: readonly string[];
  /** The other clusters' global CIDRs: connections to them leave translated. */
  readonly remote: readonly string[];
  /** Exported ClusterSetIP services at their global ingress IPs. */
  readonly services: readonly ClustersetService[];
  readonly hosts: readonly GlobalHost[];
  /** Pods of namespaces with an egress pool of their own (GlobalEgressIP): `local` leaves as `global` (a host's own address comes first). */
  readonly egress?: readonly { readonly local: string; readonly global: string }[];
}

export interface GlobalNat {
  /** The digest of the spec the table was last made from; undefined when there is no table. */
  observe(): Promise<string | undefined>;
  /** Makes the table the spec's, atomically (undefined: deletes it); `seen`: what observe() gave just before, in the same pass. */
  apply(spec: GlobalNatSpec | undefined, seen?: Observed): Promise<void>;
}

const num = NUMERIC;

function canonical(spec: GlobalNatSpec): GlobalNatSpec {
  return {
    globalCidr: spec.globalCidr,
    egressIPs: [...spec.egressIPs].sort(num),
    remote: [...new Set(spec.remote)].sort(num),
    services: canonicalServices(spec.services),
    hosts: [...spec.hosts].sort((a, b) => num(a.global, b.global)),
    ...(spec.egress?.length ? { egress: [...spec.egress].sort((a, b) => num(a.local, b.local)) } : {}),
  };
}

/** Pure: a short digest of the spec (kept in the table's state chain: an unchanged spec rewrites nothing). */
export function globalNatDigest(spec: GlobalNatSpec): string {
  return specDigest(canonical(spec));
}

/** Pure: what the table holds for the spec. */
export function globalNatModel(spec: GlobalNatSpec): NftTableModel {
  const c = canonical(spec);
  const { chains, elements } = serviceChains(c.services);
  const inbound = c.hosts.map((h) => `${h.global} : ${h.local}`);
  // One global address per local one outbound (a pod behind two headless exports keeps the first).
  const outbound = new Map<string, string>();
  for (const h of c.hosts) if (h.egress && !outbound.has(h.local)) outbound.set(h.local, h.global);
  for (const e of c.egress ?? []) if (!outbound.has(e.local)) outbound.set(e.local, e.global);
  const pool = c.egressIPs.length ? `${c.egressIPs[0]}-${c.egressIPs.at(-1)}` : "";
  const addrMap = (elements: string[]): NftCollection => ({ kind: "map", spec: ["type ipv4_addr : ipv4_addr"], elements });
  return {
    digest: specDigest(c),
    collections: new Map<string, NftCollection>([
      ["services", { kind: "map", spec: ["type ipv4_addr . inet_proto . inet_service : verdict"], elements }],
      ["inbound", addrMap(inbound)],
      ["outbound", addrMap([...outbound].map(([l, g]) => `${l} : ${g}`))],
      ["remote", { kind: "set", spec: ["type ipv4_addr", "flags interval"], elements: c.remote }],
      ["own", { kind: "set", spec: ["type ipv4_addr", "flags interval"], elements: [c.globalCidr] }],
    ]),
    chains,
    base: [
      "  chain prerouting {",
      "    type nat hook prerouting priority dstnat - 20; policy accept;",
      `    ip daddr ${c.globalCidr} ip daddr . meta l4proto . th dport vmap @services`,
      `    ip daddr ${c.globalCidr} dnat ip to ip daddr map @inbound`,
      "  }",
      "  chain postrouting {",
      "    type nat hook postrouting priority srcnat - 20; policy accept;",
      "    ip daddr != @remote return",
      `    ip saddr ${c.globalCidr} return`,
      "    snat ip to ip saddr map @outbound",
      ...(pool ? [`    snat ip to ${pool}`] : []),
      "  }",
      // After NAT: what still goes to our global CIDR matched no service port, address or endpoint.
      "  chain refuse {",
      "    type filter hook forward priority filter - 10; policy accept;",
      `    ip daddr ${c.globalCidr} meta l4proto tcp reject with tcp reset`,
      `    ip daddr ${c.globalCidr} reject with icmp type admin-prohibited`,
      "  }",
    ],
  };
}

/** Pure: the `nft -f` script that (re)creates the table in one transaction, or deletes it. */
export function renderGlobalNat(spec: GlobalNatSpec | undefined): string {
  return renderTable(GLOBALNET_NAT_TABLE, spec ? globalNatModel(spec) : undefined);
}

/** Pure: the CIDRs of the `own` and `remote` sets in `nft -j list table` output of the table. */
export function parseGlobalNatCidrs(json: string): string[] {
  const doc = JSON.parse(json || "{}") as { nftables?: { set?: { name: string; elem?: unknown[] } }[] };
  const out: string[] = [];
  for (const item of doc.nftables ?? []) {
    if (!item.set || !["own", "remote"].includes(item.set.name)) continue;
    for (const e of item.set.elem ?? []) {
      if (typeof e === "string") out.push(`${e}/32`);
      const p = (e as { prefix?: { addr: string; len: number } }).prefix;
      if (p) out.push(`${p.addr}/${p.len}`);
    }
  }
  return out;
}

/** The globalnet table on the active gateway: replaced at first, then updated by what changed (nfttable.ts). */
export class NftGlobalNat implements GlobalNat {
  readonly #run: CommandRunner;
  readonly #table: NftTable;
  constructor(runner: CommandRunner) {
    this.#run = runner;
    this.#table = new NftTable(runner, GLOBALNET_NAT_TABLE);
  }

  observe(): Promise<string | undefined> {
    return this.#table.observe();
  }

  /** The global CIDRs the table on the host translates for (none: no table). */
  async #cidrs(): Promise<string[] | undefined> {
    const res = await this.#run.run("nft", ["-j", "list", "table", "ip", GLOBALNET_NAT_TABLE], { allowFailure: true });
    return res.exitCode === 0 ? parseGlobalNatCidrs(res.stdout) : undefined;
  }

  async apply(spec: GlobalNatSpec | undefined, seen?: Observed): Promise<void> {
    // Going: what it translated is read first (only then: a full listing costs ~0.2 s at 1,000 services).
    const before = spec ? undefined : await this.#cidrs();
    const { existed } = await this.#table.apply(spec ? globalNatModel(spec) : undefined, seen);
    // The table appeared or went: flows tracked in the other role are forgotten.
    const forget = !existed && spec ? [spec.globalCidr, ...spec.remote] : existed && !spec ? (before ?? []) : [];
    for (const cidr of new Set(forget)) {
      const [net = "", len = "32"] = cidr.split("/");
      const mask = intToIp(Number(len) === 0 ? 0 : (0xffffffff << (32 - Number(len))) >>> 0);
      // Exit 1 when nothing matched.
      await this.#run.run("conntrack", ["-D", "-d", net, "--mask-dst", mask], { allowFailure: true });
    }
  }
}

export class FakeGlobalNat implements GlobalNat {
  spec: GlobalNatSpec | undefined;
  async observe(): Promise<string | undefined> {
    return this.spec ? globalNatDigest(this.spec) : undefined;
  }
  async apply(spec: GlobalNatSpec | undefined): Promise<void> {
    this.spec = spec ? canonical(spec) : undefined;
  }
}

/** Pure: what a globalnet table on a node holds, from `nft -j list table` output. */
export function parseGlobalNatTable(json: string): { own: string[]; remote: string[]; services: string[]; inbound: string[] } {
  const doc = JSON.parse(json || "{}") as { nftables?: { set?: { name: string; elem?: unknown[] }; map?: { name: string; elem?: unknown[] } }[] };
  const cidrs = (name: string) => parseGlobalNatCidrs(JSON.stringify({ nftables: (doc.nftables ?? []).filter((x) => x.set?.name === name) }));
  const keys = (name: string) =>
    (doc.nftables ?? [])
      .filter((x) => x.map?.name === name)
      .flatMap((x) => x.map?.elem ?? [])
      .map((e) => {
        const k = (e as unknown[])[0];
        if (typeof k === "string") return k;
        const first = (k as { concat?: unknown[] }).concat?.[0];
        return typeof first === "string" ? first : "";
      });
  return { own: cidrs("own"), remote: cidrs("remote"), services: [...new Set(keys("services"))], inbound: keys("inbound") };
}

/** What `diagnose globalnet` needs of one export: its global IP, or its headless endpoints'. */
export interface GlobalExportView {
  readonly namespace: string;
  readonly name: string;
  readonly type: string;
  readonly globalIp?: string;
  readonly endpoints: readonly { ready: boolean; globalIp?: string }[];
}

/** What `diagnose globalnet` compares a gateway's table with: the cluster's global CIDR, the other members', its exports. */
export interface GlobalNatExpectation {
  readonly clusterId: string;
  readonly node: string;
  readonly globalCidr: string;
  readonly remote: readonly string[];
  readonly exports: readonly GlobalExportView[];
}

/** Pure: the export fields `diagnose globalnet` needs (what a diagnose pod is handed). */
export function globalExportView(e: GlobalExportView): GlobalExportView {
  return {
    namespace: e.namespace,
    name: e.name,
    type: e.type,
    ...(e.globalIp ? { globalIp: e.globalIp } : {}),
    endpoints: e.endpoints.map((x) => ({ ready: x.ready, ...(x.globalIp ? { globalIp: x.globalIp } : {}) })),
  };
}

/**
 * Pure: `diagnose globalnet` for one cluster — whether its active gateway's table (`tableJson`,
 * undefined: no table) translates for its global CIDR, toward every other member's, and every
 * exported service and headless endpoint that has a global IP and a ready endpoint, and nothing
 * else: an address no export holds (but the health-check address) is stale. Each finding says
 * what to do.
 */
export function globalNatFindings(o: GlobalNatExpectation & { tableJson: string | undefined }): { name: string; ok: boolean; ms: number; detail: string }[] {
  const name = `globalnet translation of ${o.clusterId} on its active gateway ${o.node || "(none)"}`;
  const finding = (ok: boolean, detail: string) => [{ name, ok, ms: 0, detail }];
  if (!o.node) return finding(false, `${o.clusterId} has no active gateway: 'causeway show gateways'`);
  if (o.tableJson === undefined)
    return finding(false, `no table ip ${GLOBALNET_NAT_TABLE} on ${o.node}: is the gateway there running and active? ('causeway show gateways', its log)`);
  const t = parseGlobalNatTable(o.tableJson);
  if (t.own.join() !== o.globalCidr)
    return finding(false, `the table translates for ${t.own.join(", ") || "nothing"}, not ${o.globalCidr}: restart the gateway on ${o.node}`);
  const missingRemote = o.remote.filter((c) => !t.remote.includes(c));
  if (missingRemote.length)
    return finding(
      false,
      `no egress translation toward ${missingRemote.join(", ")}: the gateway has not seen those clusters' endpoints ('causeway show endpoints')`,
    );
  const problems = o.exports.flatMap((e) => exportProblems(e, t));
  const stale = staleAddresses(o, t);
  if (stale.length)
    problems.push(
      `${stale.slice(0, 5).join(", ")}${stale.length > 5 ? ` (and ${stale.length - 5} more)` : ""} still translated though no export holds ${stale.length > 1 ? "them" : "it"} (run again: an unexport takes up to a second; if it stays, restart the gateway on ${o.node})`,
    );
  if (problems.length) return finding(false, `${problems.slice(0, 5).join("; ")}${problems.length > 5 ? ` (and ${problems.length - 5} more)` : ""}`);
  return finding(
    true,
    `${t.services.length} service(s) and ${t.inbound.length} address(es) translated for ${o.globalCidr}, egress toward ${t.remote.length} cluster(s)`,
  );
}

/** Pure: the table's service and whole addresses that no export holds (the health-check address is the gateway's own). */
function staleAddresses(o: GlobalNatExpectation, t: { services: readonly string[]; inbound: readonly string[] }): string[] {
  const held = new Set<string>([globalAddresses(o.globalCidr)?.healthCheckIP ?? ""]);
  for (const e of o.exports) {
    if (e.globalIp) held.add(e.globalIp);
    for (const x of e.endpoints) if (x.globalIp) held.add(x.globalIp);
  }
  return [...new Set([...t.services, ...t.inbound])].filter((ip) => !held.has(ip)).sort(NUMERIC);
}

/** Pure: what the table lacks for one export (a ClusterSetIP export's global IP with a ready endpoint, each ready headless endpoint's). */
function exportProblems(e: GlobalExportView, t: { services: readonly string[]; inbound: readonly string[] }): string[] {
  const key = `${e.namespace}/${e.name}`;
  const ready = e.endpoints.filter((x) => x.ready);
  if (e.type === "Headless")
    return ready.flatMap((x) => (x.globalIp && !t.inbound.includes(x.globalIp) ? [`${key}'s endpoint ${x.globalIp} is not translated`] : []));
  if (!e.globalIp) return [`${key} has no global IP yet (the lighthouse gives one: is it running?)`];
  return ready.length && !t.services.includes(e.globalIp) ? [`${key}'s ${e.globalIp} is not translated`] : [];
}
