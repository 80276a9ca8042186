import { type CableDriverName, type Endpoint, MAX_GATEWAY_SLOTS, parseCableDriver } from "@causeway/api";
import type { host } from "@causeway/common";

/** What every cable driver routes from (the remote subnets' table and its rule) and filters with: one driver is in use at a time. */
export const CABLE_ROUTING = { table: 100, priority: 100 } as const;

/** Replies pinned to the remote gateway their flow came from (active-active remotes): rule priority, and the tables' base (+ the gateway's slot, 1–15). */
export const CABLE_PIN_RULE = 91;
export const CABLE_PIN_TABLE = 180;

const GW_CHAINS = [
  { table: "filter", chain: "CAUSEWAY-GW-INPUT", hook: "INPUT" },
  { table: "filter", chain: "CAUSEWAY-GW-FORWARD", hook: "FORWARD" },
  { table: "mangle", chain: "CAUSEWAY-GW-PREROUTING", hook: "PREROUTING" },
] as const;

/**
 * What a cable driver owns on the host: table 100, rule 100, the gateway chains, the pinning
 * rule and tables (shared: the driver in use prunes what another left), and `links` (its device
 * when iproute2 manages it).
 */
export function cableOwnership(links: readonly string[]): host.HostOwnership {
  const pinTables = Array.from({ length: MAX_GATEWAY_SLOTS }, (_, i) => CABLE_PIN_TABLE + i + 1);
  return {
    net: { links, tables: [CABLE_ROUTING.table, ...pinTables], rulePriorities: [CABLE_ROUTING.priority, CABLE_PIN_RULE] },
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
}

export interface CableState {
  readonly clusterId: string;
  readonly status: "connected" | "connecting" | "error";
  readonly message: string;
}

/** Bytes carried by one cable since it was set up. */
export interface Traffic {
  readonly rxBytes: number;
  readonly txBytes: number;
}

/** A cable driver: level-triggered, owns its interface, routing table and rule. */
export interface CableDriver {
  readonly name: CableDriverName;
  /** Makes the host carry exactly these cables (adds, changes, removes); idempotent. */
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
   * Bytes carried per remote cluster id, for drivers whose cables have their own counters
   * (WireGuard's peers; VXLAN's one device is shared by every cable, as in Submariner).
   */
  traffic?(remotes: readonly RemoteCable[]): Promise<Map<string, Traffic>>;
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
