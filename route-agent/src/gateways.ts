/**
 * The local active gateways as a node steers to them: one (active-passive) through plain routes,
 * several (active-active) through a resilient next-hop group, with the flows that came through a
 * gateway pinned to it (docs/architecture.md, active-active).
 */
import { gatewaySlotOf, MAX_GATEWAY_SLOTS, sameSubnet, ValidationError, vtepMac, withFirstOctet } from "@causeway/api";
import type { host, SiteNode } from "@causeway/common";
import type { RouteAgentInput } from "./desired.ts";
import { TABLE, VX } from "./names.ts";

/** The gateway node is not on this node's subnet, so "direct" cannot reach it without a tunnel. */
export class GatewayNotOnLinkError extends ValidationError {
  constructor(node: SiteNode, gw: SiteNode, underlay: host.Underlay) {
    super(
      `intraCluster "direct" needs the gateway node ${gw.name} (${gw.ip}) on the same subnet as ${node.name} ` +
        `(${node.ip}/${underlay.prefix} on ${underlay.dev}); use intraCluster "vxlan" for nodes on different subnets`,
    );
    this.name = "GatewayNotOnLinkError";
  }
}

/** Next-hop ids (active-active): the group over the local gateways, and each gateway's member at NEXTHOP_GROUP + its slot. */
export const NEXTHOP_GROUP = 15000;
export const NEXTHOP_IDS = { from: NEXTHOP_GROUP, to: NEXTHOP_GROUP + 99 } as const;
/** Resilient buckets of the group (a flow keeps its bucket; with 15 gateways at most, each has 8 or more). */
export const NEXTHOP_BUCKETS = 128;
/** Seconds a bucket must be idle before a gateway that comes (or comes back) takes it: established flows stay where they are. */
export const NEXTHOP_IDLE_S = 60;
/**
 * Connection marks that pin a flow to the gateway it came through (active-active): the slot in
 * bits of their own, apart from kube-proxy's (0x4000, 0x8000) and the CNIs' low bits; replies
 * take the ip rule at PIN.rulePriority (before the gateway's table-100 rule) to table
 * PIN.tableBase + slot.
 */
export const PIN = { mask: 0x0f000000, shift: 24, rulePriority: 90, tableBase: 160, chain: "CAUSEWAY-PREROUTING" } as const;
/** Active-active gateway nodes: cross-cluster traffic for other nodes' pods through vx-causeway (rule per remote CIDR, before the pinning's). */
export const HAND_OVER = { rulePriority: 95, table: 159 } as const;
export const PIN_TABLES = Array.from({ length: MAX_GATEWAY_SLOTS }, (_, i) => PIN.tableBase + i + 1);

/** A local gateway: its node, and its slot (its next-hop member's id is NEXTHOP_GROUP + slot). */
export interface LocalGateway {
  readonly node: SiteNode;
  readonly slot: number;
}

/** The local active gateways whose nodes this node knows, with their slots (by position when an Endpoint declares none: active-passive). */
export function localGateways(input: RouteAgentInput): LocalGateway[] {
  return input.localEndpoints.flatMap((ep, i): LocalGateway[] => {
    const node = input.nodes.find((n) => n.name === ep.hostname);
    return node ? [{ node, slot: gatewaySlotOf(ep) ?? i + 1 }] : [];
  });
}

/** Direct mode on a non-gateway node: routes via the gateways' node IPs, each of which must be on this node's subnet. */
export function directRoutes(
  input: RouteAgentInput,
  gateways: readonly LocalGateway[],
  cidrs: readonly string[],
  grouped: boolean,
): Pick<host.NetState, "routes" | "nexthops"> {
  for (const g of gateways)
    if (!sameSubnet(input.node.ip, g.node.ip, input.underlay.prefix)) throw new GatewayNotOnLinkError(input.node, g.node, input.underlay);
  return routesVia(
    gateways.map((g) => ({ slot: g.slot, via: g.node.ip, dev: input.underlay.dev, onlink: false })),
    cidrs,
    grouped,
  );
}

/** Pure: table 150's routes for `cidrs` through one gateway, or (`grouped`) through a resilient next-hop group over the gateways. */
export function routesVia(
  gateways: readonly { slot: number; via: string; dev: string; onlink: boolean }[],
  cidrs: readonly string[],
  grouped: boolean,
): Pick<host.NetState, "routes" | "nexthops"> {
  const [first] = gateways;
  if (!first) return { routes: [] };
  if (!grouped) return { routes: cidrs.map((dst) => ({ table: TABLE, dst, via: first.via, dev: first.dev, ...(first.onlink ? { onlink: true } : {}) })) };
  const members = gateways.map((g) => ({ id: NEXTHOP_GROUP + g.slot, via: g.via, dev: g.dev, ...(g.onlink ? { onlink: true } : {}) }));
  const group = { id: NEXTHOP_GROUP, members: members.map((m) => m.id), buckets: NEXTHOP_BUCKETS, idleTimerS: NEXTHOP_IDLE_S };
  return { routes: cidrs.map((dst) => ({ table: TABLE, dst, dev: first.dev, nhid: NEXTHOP_GROUP })), nexthops: { members, groups: [group] } };
}

/**
 * Pure (vxlan mode, active-active): a flow whose packets reach this node from a local gateway
 * through vx-causeway is marked with that gateway's slot — by every packet, so a flow the remote
 * cluster moves to another gateway follows it — told by the frame's source MAC (each VTEP's MAC is fixed: vtepMac); the replies of this node's pods
 * restore the mark, and an ip rule sends them through the same gateway, so both directions of a
 * flow cross one gateway (docs/architecture.md). A gateway node pins to the other gateways: its
 * own flows leave through its own cables.
 */
export function pinning(
  input: RouteAgentInput,
  gateways: readonly LocalGateway[],
  cidrs: readonly string[],
): { chain: host.ChainSpec; rules: host.Rule[]; routes: host.Route[] } {
  const others = gateways.filter((g) => g.node.name !== input.node.name);
  const mark = (slot: number) => slot << PIN.shift;
  const vtep = (g: LocalGateway) => withFirstOctet(g.node.ip, VX.vtepOctet);
  const chain: host.ChainSpec = {
    table: "mangle",
    chain: PIN.chain,
    hook: "PREROUTING",
    rules: [
      ...others.map((g) => ({
        match: { in: VX.name, macSource: vtepMac(vtep(g)) },
        target: { kind: "CONNMARK_SET" as const, mark: mark(g.slot), mask: PIN.mask },
      })),
      { match: { notIn: VX.name, connmark: { mark: 0, mask: PIN.mask, not: true } }, target: { kind: "CONNMARK_RESTORE", mask: PIN.mask } },
    ],
  };
  const handOver = handing(input, gateways, cidrs);
  return {
    chain,
    rules: [
      ...others.map((g) => ({ priority: PIN.rulePriority, table: PIN.tableBase + g.slot, fwmark: { mark: mark(g.slot), mask: PIN.mask } })),
      ...handOver.rules,
    ],
    routes: [
      ...others.flatMap((g) => cidrs.map((dst) => ({ table: PIN.tableBase + g.slot, dst, via: vtep(g), dev: VX.name, onlink: true }))),
      ...handOver.routes,
    ],
  };
}

/**
 * Pure: on an active gateway's node, what arrives from the remote clusters (`cidrs` as source)
 * for another node's pods goes to that node through vx-causeway (table HAND_OVER.table), not the
 * CNI, so that the node can tell which gateway sent it (its VTEP's MAC) and pin the replies to
 * it. The gateway node's own pods are not in the table: their traffic is delivered as before.
 */
function handing(input: RouteAgentInput, gateways: readonly LocalGateway[], cidrs: readonly string[]): { rules: host.Rule[]; routes: host.Route[] } {
  if (!gateways.some((g) => g.node.name === input.node.name)) return { rules: [], routes: [] };
  return {
    rules: cidrs.map((src) => ({ priority: HAND_OVER.rulePriority, table: HAND_OVER.table, src })),
    routes: input.nodes
      .filter((n) => n.name !== input.node.name)
      .map((n) => ({ table: HAND_OVER.table, dst: n.podCIDR, via: withFirstOctet(n.ip, VX.vtepOctet), dev: VX.name, onlink: true })),
  };
}
