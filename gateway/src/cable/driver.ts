import {
  type CableDriverName,
  type Endpoint,
  GATEWAY_EGRESS_KEY,
  gatewayModeOf,
  gatewaySlotOf,
  isIPv4,
  MAX_GATEWAY_SLOTS,
  parseCableDriver,
} from "@causeway/api";
import { readFile } from "node:fs/promises";
import type { host } from "@causeway/common";

/** What every cable driver routes from (the remote subnets' table and its rule) and filters with: one driver is in use at a time. */
export const CABLE_ROUTING = { table: 100, priority: 100 } as const;

/**
 * Next-hop ids of the cables to clusters with several active gateways (active-active): each such
 * cluster a block of 16, in order of cluster id — its group at the block's start, each of its
 * gateways at the start + the gateway's slot. 250 blocks: 250 active-active remote clusters.
 */
export const CABLE_NEXTHOPS = { from: 16000, to: 19999 } as const;

/**
 * Connection marks that pin a flow from a remote gateway to it (a remote cluster with several
 * active gateways): the gateway's slot in bits of their own, apart from the route agents'
 * (0x0f000000) and kube-proxy's; replies take the ip rule at CABLE_PIN.rulePriority to table
 * CABLE_PIN.tableBase + slot, whose routes go to each such cluster's gateway of that slot.
 */
export const CABLE_PIN = { mask: 0xf0000000, unit: 0x10000000, chain: "CAUSEWAY-GW-PREROUTING" } as const;

/** Resilient groups over a remote cluster's gateways: as the route agents' over the local ones (a flow keeps its bucket; a bucket idle 60 s may move to a gateway that comes). */
export const CABLE_GROUP = { buckets: 128, idleTimerS: 60 } as const;

/** Replies pinned to the remote gateway their flow came from (active-active remotes): rule priority, and the tables' base (+ the gateway's slot, 1–15). */
export const CABLE_PIN_RULE = 91;
export const CABLE_PIN_TABLE = 180;

const GW_CHAINS = [
  { table: "filter", chain: "CAUSEWAY-GW-INPUT", hook: "INPUT" },
  { table: "filter", chain: "CAUSEWAY-GW-FORWARD", hook: "FORWARD" },
  { table: "mangle", chain: "CAUSEWAY-GW-PREROUTING", hook: "PREROUTING" },
] as const;

/**
 * What a cable driver owns on the host: table 100, rule 100, the gateway chains, the next-hop
 * groups over remote gateways, the pinning rule and tables (shared: the driver in use prunes what another left), and `links` (its device
 * when iproute2 manages it).
 */
export function cableOwnership(links: readonly string[]): host.HostOwnership {
  const pinTables = Array.from({ length: MAX_GATEWAY_SLOTS }, (_, i) => CABLE_PIN_TABLE + i + 1);
  return {
    net: { links, tables: [CABLE_ROUTING.table, ...pinTables], rulePriorities: [CABLE_ROUTING.priority, CABLE_PIN_RULE], nexthopIds: CABLE_NEXTHOPS },
    chains: GW_CHAINS,
    sets: [],
  };
}

/**
 * Pure: the gateway chains of a cable on device `dev` carried on UDP `port`: the port accepted
 * on INPUT, and everything into and out of the device accepted in FORWARD — it is all
 * cross-cluster traffic, matched by interface, a native match that costs no set lookup per
 * packet (Submariner accepts -o vx-submariner alike).
 */
export function cableChains(dev: string, port: number): host.ChainSpec[] {
  return [
    {
      table: "filter",
      chain: "CAUSEWAY-GW-INPUT",
      hook: "INPUT",
      jumpMatch: { proto: "udp" },
      rules: [{ match: { proto: "udp", dport: port }, target: { kind: "ACCEPT" } }],
    },
    {
      table: "filter",
      chain: "CAUSEWAY-GW-FORWARD",
      hook: "FORWARD",
      rules: [
        { match: { in: dev }, target: { kind: "ACCEPT" } },
        { match: { out: dev }, target: { kind: "ACCEPT" } },
      ],
    },
  ];
}

/** The UDP port cables use unless a gateway's `--nattport` says otherwise (Submariner's NAT-T port). */
export const DEFAULT_CABLE_PORT = 4500;

/** Pure: the UDP port a gateway's cables use, from its Endpoint's backend_config `udp-port`. */
export function cablePortOf(config: Readonly<Record<string, string>>): number {
  const n = Number(config["udp-port"]);
  return Number.isInteger(n) && n > 0 && n <= 65535 ? n : DEFAULT_CABLE_PORT;
}

/** Whether an Endpoint asks to be the server side of its cables (`join --preferred-server`). */
export const prefersServer = (ep: Endpoint): boolean => ep.backend_config["preferred-server"] === "true";

/**
 * Pure: who initiates a cable (Submariner's preferred-server rule): with neither or both sides
 * plain, both do ("both"); one side preferring to be the server waits for the other ("server"
 * here, "client" there); both preferring: the larger cable name is the server.
 */
export function cableRole(local: Endpoint, remote: Endpoint): "both" | "server" | "client" {
  const l = prefersServer(local);
  const r = prefersServer(remote);
  if (l && r) return local.cable_name > remote.cable_name ? "server" : "client";
  if (l) return "server";
  if (r) return "client";
  return "both";
}

/** What a driver needs to know about this gateway. */
export interface LocalCable {
  readonly endpoint: Endpoint;
  /** MTU of the underlay interface carrying the cable. */
  readonly underlayMtu: number;
  /**
   * The source address routes into the cables prefer: the node's CNI address (under globalnet the
   * Endpoint's health-check address is a global one no interface holds); the Endpoint's
   * health-check address when absent.
   */
  readonly source?: string;
}

/** One remote gateway to connect to, with the address chosen for it. */
export interface RemoteCable {
  readonly endpoint: Endpoint;
  readonly usingIP: string;
  readonly usingNAT: boolean;
  /**
   * A gateway just withdrawn from a remote cluster that has others (active-active), kept for a
   * while (the engine's DrainingRemotes): its device and peer stay so what it still sends (its
   * cluster's route agents not moved yet) arrives, but nothing is routed or pinned to it.
   */
  readonly draining?: boolean;
}

/** Pure: the cables traffic is sent into (those not draining). */
const sending = (remotes: readonly RemoteCable[]): RemoteCable[] => remotes.filter((r) => !r.draining);

export interface CableState {
  readonly clusterId: string;
  readonly status: "connected" | "connecting" | "error";
  readonly message: string;
}

/**
 * Pure: the remote gateways by cluster, in order of cluster id, each with its slot (its position
 * when its Endpoint declares none); `grouped`: a cluster with several active gateways, or one in
 * active-active mode, reached through a next-hop group and pinned.
 */
export function remoteSets(remotes: readonly RemoteCable[]): { grouped: boolean; gateways: { r: RemoteCable; slot: number }[] }[] {
  const byCluster = new Map<string, RemoteCable[]>();
  for (const r of remotes) byCluster.set(r.endpoint.cluster_id, [...(byCluster.get(r.endpoint.cluster_id) ?? []), r]);
  return [...byCluster.keys()].sort().map((id) => {
    const rs = byCluster.get(id) ?? [];
    return {
      grouped: rs.length > 1 || rs.some((r) => gatewayModeOf(r.endpoint) === "active-active"),
      gateways: rs.map((r, i) => ({ r, slot: gatewaySlotOf(r.endpoint) ?? i + 1 })),
    };
  });
}

/** The remote gateways whose flows are pinned (those of grouped clusters, not draining), with their slots. */
export function pinned(remotes: readonly RemoteCable[]): { r: RemoteCable; slot: number }[] {
  return remoteSets(sending(remotes)).flatMap((set) => (set.grouped ? set.gateways : []));
}

/** How a cable driver reaches one remote gateway: its device, and the next hop's address on devices with a link layer (VXLAN's VTEP). */
export interface GatewayHop {
  readonly dev: string;
  readonly via?: string;
}

/**
 * Pure: table 100's routes (behind rule 100) to each remote cluster's subnets, through `hop` of
 * its gateway — or, a cluster with several active gateways (active-active), through a resilient
 * next-hop group over their hops (a flow hashed to one keeps it while it lives) — and, for the
 * gateways of such clusters, a rule per slot (fwmark) to table CABLE_PIN_TABLE + slot, which
 * routes that cluster's subnets to its gateway of that slot (the pinning, docs/architecture.md).
 * A draining gateway gets none of these, only the route to its globalnet egress address (the
 * translations of the flows it carried are on its host).
 */
export function cableRouting(
  remotes: readonly RemoteCable[],
  src: string | undefined,
  hop: (r: RemoteCable) => GatewayHop,
): Pick<host.NetState, "routes" | "nexthops" | "rules"> {
  // A device without a link layer (WireGuard): the next hop only names the device (any address, onlink).
  const route = (r: RemoteCable, table: number, dst: string): host.Route => {
    const h = hop(r);
    return { table, dst, ...(h.via ? { via: h.via } : {}), dev: h.dev, src, ...(h.via ? { onlink: true } : {}) };
  };
  const routes: host.Route[] = [];
  const members: host.NexthopMember[] = [];
  const groups: host.NexthopGroup[] = [];
  // Globalnet: what goes to a gateway's own egress address goes to that gateway (it holds the translation).
  const egressRoutes = (r: RemoteCable): host.Route[] => {
    const egress = r.endpoint.backend_config[GATEWAY_EGRESS_KEY];
    return egress && isIPv4(egress) ? [route(r, CABLE_ROUTING.table, `${egress}/32`)] : [];
  };
  routes.push(...remotes.filter((r) => r.draining).flatMap(egressRoutes));
  for (const set of remoteSets(sending(remotes))) {
    const subnets = [...new Set(set.gateways.flatMap((g) => g.r.endpoint.subnets))];
    const [first] = set.gateways;
    if (!set.grouped) {
      if (first) routes.push(...subnets.map((dst) => route(first.r, CABLE_ROUTING.table, dst)));
      continue;
    }
    const base = CABLE_NEXTHOPS.from + 16 * groups.length;
    const mine = set.gateways.map((g) => ({ id: base + g.slot, via: hop(g.r).via ?? g.r.endpoint.private_ip, dev: hop(g.r).dev, onlink: true }));
    members.push(...mine);
    groups.push({ id: base, members: mine.map((m) => m.id), buckets: CABLE_GROUP.buckets, idleTimerS: CABLE_GROUP.idleTimerS });
    routes.push(...subnets.map((dst) => ({ table: CABLE_ROUTING.table, dst, dev: mine[0]?.dev ?? "", src, nhid: base })));
    routes.push(...set.gateways.flatMap((g) => egressRoutes(g.r)));
  }
  const ps = pinned(remotes);
  const slots = [...new Set(ps.map((p) => p.slot))].sort((a, b) => a - b);
  routes.push(...ps.flatMap(({ r, slot }) => r.endpoint.subnets.map((dst) => route(r, CABLE_PIN_TABLE + slot, dst))));
  return {
    routes,
    ...(groups.length ? { nexthops: { members, groups } } : {}),
    rules: [
      { priority: CABLE_ROUTING.priority, table: CABLE_ROUTING.table },
      ...slots.map((slot) => ({ priority: CABLE_PIN_RULE, table: CABLE_PIN_TABLE + slot, fwmark: { mark: slot * CABLE_PIN.unit, mask: CABLE_PIN.mask } })),
    ],
  };
}

/**
 * Pure (active-active remotes): a flow's packets that arrive from a pinned remote gateway — told by
 * `marks`' match: VXLAN's source MAC, WireGuard's device — mark the flow with its slot (every
 * packet, not only the first: a flow the remote cluster moved to another of its gateways
 * follows it); other packets (`restore`) restore the mark, and the rules of cableRouting send
 * replies back through the same gateway, so both directions of a flow cross one gateway of each
 * cluster (docs/architecture.md).
 */
export function cablePinChain(marks: readonly { match: host.Match; slot: number }[], restore: host.Match): host.ChainSpec[] {
  if (!marks.length) return [];
  return [
    {
      table: "mangle",
      chain: CABLE_PIN.chain,
      hook: "PREROUTING",
      rules: [
        ...marks.map(({ match, slot }) => ({ match, target: { kind: "CONNMARK_SET" as const, mark: slot * CABLE_PIN.unit, mask: CABLE_PIN.mask } })),
        { match: { ...restore, connmark: { mark: 0, mask: CABLE_PIN.mask, not: true } }, target: { kind: "CONNMARK_RESTORE" as const, mask: CABLE_PIN.mask } },
      ],
    },
  ];
}

/** Pure I/O: bytes through network devices `devs` (absent ones count nothing), from their statistics under `sysNet` (/sys/class/net). */
export async function linkTraffic(devs: readonly string[], sysNet = "/sys/class/net"): Promise<Traffic> {
  const read = (dev: string, what: "rx" | "tx") =>
    readFile(`${sysNet}/${dev}/statistics/${what}_bytes`, "utf8").then(
      (t) => Number(t.trim()) || 0,
      () => 0,
    );
  let rxBytes = 0;
  let txBytes = 0;
  for (const d of devs) {
    rxBytes += await read(d, "rx");
    txBytes += await read(d, "tx");
  }
  return { rxBytes, txBytes };
}

/** Bytes carried by one cable since it was set up. */
export interface Traffic {
  readonly rxBytes: number;
  readonly txBytes: number;
}

/** A cable driver: level-triggered, owns its interface, routing table and rule. */
export interface CableDriver {
  readonly name: CableDriverName;
  /** Makes the host carry exactly these cables (adds, changes, removes); idempotent. One state per remote, in the order of `remotes`. */
  sync(local: LocalCable, remotes: readonly RemoteCable[]): Promise<CableState[]>;
  /** Removes everything the driver owns; idempotent. */
  cleanup(): Promise<void>;
  /**
   * Removes only the driver's own device, leaving table 100, rule 100 and the gateway chains
   * (which every driver shares and the driver in use rewrites): run for the drivers not in use
   * when a gateway starts, so a changed cable driver starts clean and a restart cuts nothing.
   */
  removeDevice(): Promise<void>;
  /** Throws, naming what to install, when this host cannot carry the driver's cables (run before anything is touched). */
  preflight?(): void;
  /**
   * Bytes carried per remote gateway, by its key (api remoteKey), for drivers whose cables have their own counters
   * (WireGuard's peers; VXLAN's one device is shared by every cable, as in Submariner).
   */
  traffic?(remotes: readonly RemoteCable[]): Promise<Map<string, Traffic>>;
  /** Bytes through all of this gateway's cable devices together, since they were made (`sysNet`: where the devices' statistics are, /sys/class/net). */
  deviceTraffic?(sysNet?: string): Promise<Traffic>;
  /** What the driver publishes in this gateway's Endpoint (e.g. WireGuard's publicKey). */
  backendConfig?(): Record<string, string>;
  /**
   * The remote addresses its cables on this host point at now (left by an earlier process of this
   * gateway): a restarted gateway keeps using them instead of dropping the cables while NAT
   * discovery asks again.
   */
  installedRemotes?(): Promise<ReadonlySet<string>>;
  /** Takes over the device an earlier process of this gateway left (its keys), before the Endpoint is published; true when there was one. */
  adopt?(): Promise<boolean>;
}

/**
 * The drivers this build offers, built explicitly in main.ts (no registration by import): one
 * factory for every name of the contract's CableDriverName, so a driver added to the contract
 * without an implementation does not compile.
 */
export class CableDrivers {
  readonly #drivers: Readonly<Record<CableDriverName, () => CableDriver>>;
  constructor(drivers: Readonly<Record<CableDriverName, () => CableDriver>>) {
    this.#drivers = drivers;
  }

  /** Every driver but `name` (whose devices a gateway removes when it starts with `name`). */
  others(name: CableDriverName): CableDriver[] {
    return Object.entries(this.#drivers)
      .filter(([n]) => n !== name)
      .map(([, make]) => make());
  }

  /** The driver called `name`; UnknownCableDriverError (api) listing the supported ones otherwise. */
  create(name: string): CableDriver {
    return this.#drivers[parseCableDriver(name)]();
  }
}
