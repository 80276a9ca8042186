/** Typed values for the kernel objects Causeway owns. Pure data; rendering happens in adapters. */
import type { NexthopIds, NexthopOp, NexthopState } from "./nexthop.ts";

export interface VxlanLink {
  readonly name: string;
  readonly vni: number;
  readonly port: number;
  /** Local underlay address (source of encapsulated packets). */
  readonly local: string;
  /** Unicast remote (point-to-point), or undefined when FDB entries steer packets. */
  readonly remote?: string | undefined;
  readonly mtu: number;
  /** VTEP address with prefix, e.g. 240.19.1.10/8. */
  readonly addr: string;
  /** Fixed MAC (set when the device is created); the kernel picks a random one when absent. */
  readonly mac?: string | undefined;
}

export interface Route {
  readonly table: number;
  readonly dst: string;
  readonly dev: string;
  readonly via?: string | undefined;
  readonly src?: string | undefined;
  readonly onlink?: boolean | undefined;
  /** Through a next-hop object (a group: spread over its members): `via` is then the object's, `dev` its members' device; `src` still applies. */
  readonly nhid?: number | undefined;
}

export interface Rule {
  readonly priority: number;
  readonly table: number;
  /** Only packets whose mark under `mask` is `mark`. */
  readonly fwmark?: { readonly mark: number; readonly mask: number } | undefined;
  /** Only packets from this CIDR. */
  readonly src?: string | undefined;
}

/** A static forwarding entry over a VXLAN device: all-zero MAC (flood/unicast to dst) unless `mac` is given. */
export interface FdbEntry {
  readonly dev: string;
  readonly dst: string;
  /** A remote VTEP's MAC pinned to dst (and port): the kernel's learning would record it without the port. */
  readonly mac?: string;
  /** The remote's UDP port, only where it differs from the device's own (a remote gateway with another --nattport). */
  readonly port?: number;
}

export interface NetState {
  readonly links: readonly VxlanLink[];
  readonly routes: readonly Route[];
  readonly rules: readonly Rule[];
  readonly fdb: readonly FdbEntry[];
  /** Next-hop objects (ids in Ownership.nexthopIds); absent: none. */
  readonly nexthops?: NexthopState;
}

/** What a reconciler owns: only these are ever changed or pruned. */
export interface Ownership {
  readonly links: readonly string[];
  readonly tables: readonly number[];
  readonly rulePriorities: readonly number[];
  /** Next-hop ids; absent: no next-hop objects are looked at. */
  readonly nexthopIds?: NexthopIds;
}

export type NetOp =
  | { readonly op: "link-del"; readonly name: string }
  | { readonly op: "link-add"; readonly link: VxlanLink }
  | { readonly op: "link-mtu"; readonly name: string; readonly mtu: number }
  | { readonly op: "addr-flush"; readonly name: string }
  | { readonly op: "addr-add"; readonly name: string; readonly addr: string }
  | { readonly op: "fdb-append"; readonly entry: FdbEntry }
  | { readonly op: "fdb-del"; readonly entry: FdbEntry }
  | { readonly op: "rule-add"; readonly rule: Rule }
  | { readonly op: "rule-del"; readonly rule: Rule }
  | { readonly op: "route-replace"; readonly route: Route }
  | { readonly op: "route-del"; readonly route: Route }
  | { readonly op: "nexthop"; readonly nh: NexthopOp };

export const EMPTY_STATE: NetState = { links: [], routes: [], rules: [], fdb: [] };

/** An observed link also reports its addresses and whether it is up. */
export interface ObservedLink extends VxlanLink {
  readonly addrs: readonly string[];
  readonly up: boolean;
}

export interface ObservedState extends NetState {
  readonly links: readonly ObservedLink[];
}
