import { cidrsOverlap, type Endpoint, gatewayModeOf, vtepMac, withFirstOctet } from "@causeway/api";
import type { host, IntraClusterMode, SiteNode } from "@causeway/common";

import { VX, TABLE, RULE_PRIORITY } from "./names.ts";
import { directRoutes, HAND_OVER, type LocalGateway, localGateways, NEXTHOP_IDS, PIN, PIN_TABLES, pinning, routesVia } from "./gateways.ts";

export { VX, TABLE, RULE_PRIORITY };
export { GatewayNotOnLinkError } from "./gateways.ts";
/** Routes for the clusterset IP blocks (clusterset.ts): a route lookup must succeed before the nft table can translate or refuse. */
export const CLUSTERSET_TABLE = 151;
export const CLUSTERSET_RULE_PRIORITY = 151;
export const SET_LOCAL = "CAUSEWAY-LOCAL";
export const SET_REMOTE = "CAUSEWAY-REMOTE";
export const CHAIN_NAT = "CAUSEWAY-POSTROUTING";
export const CHAIN_FORWARD = "CAUSEWAY-FORWARD";
export const CHAIN_INPUT = "CAUSEWAY-INPUT";
export const CHAIN_MSS = "CAUSEWAY-POSTROUTING";

export const OWNERSHIP: host.HostOwnership = {
  net: {
    links: [VX.name],
    tables: [TABLE, CLUSTERSET_TABLE, ...PIN_TABLES, HAND_OVER.table],
    rulePriorities: [RULE_PRIORITY, CLUSTERSET_RULE_PRIORITY, PIN.rulePriority, HAND_OVER.rulePriority],
    nexthopIds: NEXTHOP_IDS,
  },
  chains: [
    { table: "mangle", chain: PIN.chain, hook: "PREROUTING" },
    { table: "nat", chain: CHAIN_NAT, hook: "POSTROUTING" },
    { table: "filter", chain: CHAIN_FORWARD, hook: "FORWARD" },
    { table: "filter", chain: CHAIN_INPUT, hook: "INPUT" },
    { table: "mangle", chain: CHAIN_MSS, hook: "POSTROUTING" },
  ],
  sets: [SET_LOCAL, SET_REMOTE],
  natGuard: true,
  clustersetNat: true,
};

export interface RouteAgentInput {
  /** This node. */
  readonly node: SiteNode;
  /** Every node of the cluster (this one included). */
  readonly nodes: readonly SiteNode[];
  /** The local cluster's pod and service CIDRs. */
  readonly localCidrs: readonly string[];
  /** The local cluster's active gateways' endpoints (api activeGateways: one in active-passive mode, by slot in active-active); none published: empty. */
  readonly localEndpoints: readonly Endpoint[];
  /** One endpoint per remote cluster. */
  readonly remoteEndpoints: readonly Endpoint[];
  /** The interface carrying the node IP, its MTU and on-link prefix. */
  readonly underlay: host.Underlay;
  /** How this node reaches the gateway; vxlan when absent. */
  readonly intraCluster?: IntraClusterMode;
}

/**
 * Pure: what this node must look like. Non-gateway nodes send remote-bound traffic to the
 * active gateway (routes in table 150): through vx-causeway ("vxlan", the default), or
 * straight to the gateway's node IP ("direct"); with several active gateways (active-active)
 * through a resilient next-hop group over them, each flow hashed on its ports to one. In vxlan
 * mode a gateway node terminates vx-causeway for every node. Every node exempts cross-cluster
 * traffic from masquerading, accepts it in FORWARD and clamps TCP MSS to the path MTU.
 */
export function desiredState(input: RouteAgentInput): host.HostDesired {
  const d = steering(input);
  // The same flows as the sets, kept from nftables masquerades too (kube-proxy's nftables mode): host/natguard.ts.
  const remote = d.sets.get(SET_REMOTE) ?? [];
  return { ...d, natGuard: { local: d.sets.get(SET_LOCAL) ?? [], remote } };
}

function steering(input: RouteAgentInput): host.HostDesired {
  const mode = input.intraCluster ?? "vxlan";
  // A remote subnet overlapping this cluster's own CIDRs is never routed (a member publishing its
  // own, overlapping CIDRs under globalnet, say): it would take this cluster's own traffic away.
  const remoteCidrs = [...new Set(input.remoteEndpoints.flatMap((e) => e.subnets))].filter((s) => !input.localCidrs.some((l) => cidrsOverlap(s, l))).sort();
  const gateways = localGateways(input);
  const sysctls = new Map([
    ["net.ipv4.ip_forward", "1"],
    [`net.ipv4.conf.${input.underlay.dev}.rp_filter`, "2"],
  ]);
  if (!gateways.length || remoteCidrs.length === 0) {
    // No active gateway or nobody to reach: nothing to steer. Filter rules stay harmlessly in place.
    return { net: { links: [], routes: [], rules: [], fdb: [] }, chains: chains(mode), sets: sets(input.localCidrs, remoteCidrs), sysctls: new Map() };
  }
  // Flows hash on their ports too, so one pair of pods spreads over the gateways.
  // Active-active: through the group even with one gateway, so that gateways coming and going change its members, never the device or the routes.
  const grouped = gateways.length > 1 || input.localEndpoints.some((ep) => gatewayModeOf(ep) === "active-active");
  if (grouped) sysctls.set("net.ipv4.fib_multipath_hash_policy", "1");
  const onGateway = gateways.some((g) => g.node.name === input.node.name);
  const rules = onGateway ? [] : [{ priority: RULE_PRIORITY, table: TABLE }];
  if (mode === "direct") {
    const net = { links: [], fdb: [], ...(onGateway ? { routes: [] } : directRoutes(input, gateways, remoteCidrs, grouped)), rules };
    return { net, chains: chains(mode), sets: sets(input.localCidrs, remoteCidrs), sysctls };
  }
  return vxlanSteering(input, { gateways, remoteCidrs, grouped, onGateway, rules, sysctls });
}

/** vxlan mode with a gateway to steer to (steering's last part). */
function vxlanSteering(
  input: RouteAgentInput,
  o: { gateways: readonly LocalGateway[]; remoteCidrs: string[]; grouped: boolean; onGateway: boolean; rules: host.Rule[]; sysctls: Map<string, string> },
): host.HostDesired {
  const { gateways, remoteCidrs, grouped, onGateway, rules, sysctls } = o;
  const mode = "vxlan";
  // One gateway: a point-to-point device towards it; several: FDB entries to each (ARP finds the one that owns a VTEP).
  const link: host.VxlanLink = {
    name: VX.name,
    vni: VX.vni,
    port: VX.port,
    local: input.node.ip,
    remote: onGateway || grouped ? undefined : gateways[0]?.node.ip,
    mtu: input.underlay.mtu - VX.overhead,
    addr: `${withFirstOctet(input.node.ip, VX.vtepOctet)}/8`,
    mac: vtepMac(withFirstOctet(input.node.ip, VX.vtepOctet)),
  };
  const towards = onGateway ? input.nodes.filter((n) => n.name !== input.node.name) : gateways.map((g) => g.node);
  const fdb = towards.map((n) => ({ dev: VX.name, dst: n.ip }));
  const via = gateways.map((g) => ({ slot: g.slot, via: withFirstOctet(g.node.ip, VX.vtepOctet), dev: VX.name, onlink: true }));
  sysctls.set(`net.ipv4.conf.${VX.name}.rp_filter`, "2");
  const steer = onGateway ? { routes: [] } : routesVia(via, remoteCidrs, grouped);
  const pin = grouped ? pinning(input, gateways, remoteCidrs) : undefined;
  return {
    net: { links: [link], fdb, ...steer, routes: [...steer.routes, ...(pin?.routes ?? [])], rules: [...rules, ...(pin?.rules ?? [])] },
    chains: [...chains(mode), ...(pin ? [pin.chain] : [])],
    sets: sets(input.localCidrs, remoteCidrs),
    sysctls,
  };
}

function sets(local: readonly string[], remote: readonly string[]): Map<string, readonly string[]> {
  return new Map([
    [SET_LOCAL, [...local].sort()],
    [SET_REMOTE, [...remote]],
  ]);
}

/** Cross-cluster traffic, matched by the remote side first: ordinary in-cluster traffic misses after one lookup. */
const OUT: host.Match = {
  sets: [
    { set: SET_REMOTE, dir: "dst" },
    { set: SET_LOCAL, dir: "src" },
  ],
};
const BACK: host.Match = {
  sets: [
    { set: SET_REMOTE, dir: "src" },
    { set: SET_LOCAL, dir: "dst" },
  ],
};

function chains(mode: IntraClusterMode): host.ChainSpec[] {
  const accept = { kind: "ACCEPT" } as const;
  // Per packet, interface matches are native and nearly free; set lookups are not. In vxlan mode
  // everything through vx-causeway is cross-cluster, so those packets never reach the set rules.
  const viaTunnel: host.FilterRule[] =
    mode === "vxlan"
      ? [
          { match: { out: VX.name }, target: accept },
          { match: { in: VX.name }, target: accept },
        ]
      : [];
  return [
    // Before any CNI masquerade (evaluated once per connection): cross-cluster traffic keeps its pod source address.
    {
      table: "nat",
      chain: CHAIN_NAT,
      hook: "POSTROUTING",
      rules: [
        { match: OUT, target: accept },
        { match: BACK, target: accept },
      ],
    },
    { table: "filter", chain: CHAIN_FORWARD, hook: "FORWARD", rules: [...viaTunnel, { match: BACK, target: accept }, { match: OUT, target: accept }] },
    {
      table: "filter",
      chain: CHAIN_INPUT,
      hook: "INPUT",
      jumpMatch: { proto: "udp" },
      rules: [{ match: { proto: "udp", dport: VX.port }, target: accept }],
    },
    {
      table: "mangle",
      chain: CHAIN_MSS,
      hook: "POSTROUTING",
      rules: [
        { match: { proto: "tcp", syn: true, ...OUT }, target: { kind: "CLAMP_MSS_TO_PMTU" } },
        { match: { proto: "tcp", syn: true, ...BACK }, target: { kind: "CLAMP_MSS_TO_PMTU" } },
      ],
    },
  ];
}

/**
 * Pure: `desired` plus routes for the clusterset IP blocks. A clusterset IP is never on a wire:
 * the route agent's nft table (host/clustersetnat.ts) translates it before it leaves the node
 * (prerouting for pods, output for the node's own processes) or refuses it. The kernel looks a
 * route up before the output hook, though, and forwards a pod's untranslated packet only if it
 * has one, so a node without a default route would answer "network unreachable" instead of
 * reaching the service or refusing it. A device route on the underlay, in a table of its own
 * that is consulted for nothing else, gives every clusterset IP a route; the nft table decides.
 */
export function withClustersetRoutes(desired: host.HostDesired, blocks: readonly string[], underlay: host.Underlay): host.HostDesired {
  if (blocks.length === 0) return desired;
  const routes = [...new Set(blocks)].sort().map((dst) => ({ table: CLUSTERSET_TABLE, dst, dev: underlay.dev }));
  return {
    ...desired,
    net: {
      ...desired.net,
      routes: [...desired.net.routes, ...routes],
      rules: [...desired.net.rules, { priority: CLUSTERSET_RULE_PRIORITY, table: CLUSTERSET_TABLE }],
    },
  };
}
