import { gatewayModeOf, gatewaySlotOf, vtepMac, withFirstOctet } from "@causeway/api";
import { host } from "@causeway/common";
import {
  CABLE_PIN_RULE,
  CABLE_PIN_TABLE,
  CABLE_ROUTING,
  type CableDriver,
  type CableState,
  cableChains,
  cableOwnership,
  cablePortOf,
  type LocalCable,
  type RemoteCable,
} from "./driver.ts";

/** Submariner-compatible VXLAN cable parameters (reference §4.3). */
export const VXLAN_CABLE = { name: "vxlan-tunnel", vni: 1000, port: 4500, vtepOctet: 241, overhead: 50, ...CABLE_ROUTING } as const;

/**
 * Next-hop ids of the cables to clusters with several active gateways (active-active): each such
 * cluster a block of 16, in order of cluster id — its group at the block's start, each of its
 * gateways at the start + the gateway's slot. 250 blocks: 250 active-active remote clusters.
 */
export const CABLE_NEXTHOPS = { from: 16000, to: 19999 } as const;

const owned = cableOwnership([VXLAN_CABLE.name]);
export const VXLAN_OWNERSHIP: host.HostOwnership = { ...owned, net: { ...owned.net, nexthopIds: CABLE_NEXTHOPS } };

/**
 * Connection marks that pin a flow from a remote gateway to it (a remote cluster with several
 * active gateways): the gateway's slot in bits of their own, apart from the route agents'
 * (0x0f000000) and kube-proxy's; replies take the ip rule at CABLE_PIN.rulePriority to table
 * CABLE_PIN.tableBase + slot, whose routes go to each such cluster's gateway of that slot.
 */
export const CABLE_PIN = { mask: 0xf0000000, unit: 0x10000000, chain: "CAUSEWAY-GW-PREROUTING" } as const;

/** Pure: the host state for a set of VXLAN cables. */
export function vxlanDesired(local: LocalCable, remotes: readonly RemoteCable[]): host.HostDesired {
  if (remotes.length === 0) return host.EMPTY_DESIRED;
  const ep = local.endpoint;
  const src = local.source || ep.healthCheckIP || undefined;
  // The device listens and sends on this gateway's port; a remote on another port gets it in its FDB entry.
  const port = cablePortOf(ep.backend_config);
  const remotePort = (r: RemoteCable) => cablePortOf(r.endpoint.backend_config);
  return {
    net: {
      links: [
        {
          name: VXLAN_CABLE.name,
          vni: VXLAN_CABLE.vni,
          port,
          local: ep.private_ip,
          mtu: local.underlayMtu - VXLAN_CABLE.overhead,
          addr: `${withFirstOctet(ep.private_ip, VXLAN_CABLE.vtepOctet)}/8`,
          mac: vtepMac(withFirstOctet(ep.private_ip, VXLAN_CABLE.vtepOctet)),
        },
      ],
      // A remote on another port: its VTEP MAC pinned too (learning would record it without the port).
      fdb: remotes.flatMap((r) => {
        if (remotePort(r) === port) return [{ dev: VXLAN_CABLE.name, dst: r.usingIP }];
        const vtep = vtepMac(withFirstOctet(r.endpoint.private_ip, VXLAN_CABLE.vtepOctet));
        return [
          { dev: VXLAN_CABLE.name, dst: r.usingIP, port: remotePort(r) },
          { dev: VXLAN_CABLE.name, mac: vtep, dst: r.usingIP, port: remotePort(r) },
        ];
      }),
      ...withPinning(cableRoutes(remotes, src), remotes, src),
    },
    chains: [...cableChains(VXLAN_CABLE.name, port), ...pinChain(remotes)],
    sets: new Map(),
    sysctls: new Map([
      ["net.ipv4.ip_forward", "1"],
      [`net.ipv4.conf.${VXLAN_CABLE.name}.rp_filter`, "2"],
    ]),
  };
}

/**
 * Pure: table 100's routes to each remote cluster's subnets: via its gateway's VTEP, or — a
 * cluster with several active gateways (active-active) — through a resilient next-hop group over
 * their VTEPs (a flow hashed to one keeps it while it lives).
 */
function cableRoutes(remotes: readonly RemoteCable[], src: string | undefined): Pick<host.NetState, "routes" | "nexthops"> {
  const vtep = (r: RemoteCable) => withFirstOctet(r.endpoint.private_ip, VXLAN_CABLE.vtepOctet);
  const routes: host.Route[] = [];
  const members: host.NexthopMember[] = [];
  const groups: host.NexthopGroup[] = [];
  for (const set of remoteSets(remotes)) {
    const subnets = [...new Set(set.gateways.flatMap((g) => g.r.endpoint.subnets))];
    const [first] = set.gateways;
    if (!set.grouped) {
      if (first) routes.push(...subnets.map((dst) => ({ table: VXLAN_CABLE.table, dst, via: vtep(first.r), dev: VXLAN_CABLE.name, src, onlink: true })));
      continue;
    }
    const base = CABLE_NEXTHOPS.from + 16 * groups.length;
    const mine = set.gateways.map((g) => ({ id: base + g.slot, via: vtep(g.r), dev: VXLAN_CABLE.name, onlink: true }));
    members.push(...mine);
    groups.push({ id: base, members: mine.map((m) => m.id), buckets: CABLE_GROUP.buckets, idleTimerS: CABLE_GROUP.idleTimerS });
    routes.push(...subnets.map((dst) => ({ table: VXLAN_CABLE.table, dst, dev: VXLAN_CABLE.name, src, nhid: base })));
  }
  return { routes, ...(groups.length ? { nexthops: { members, groups } } : {}) };
}

/**
 * Pure: the remote gateways by cluster, in order of cluster id, each with its slot (its position
 * when its Endpoint declares none); `grouped`: a cluster with several active gateways, or one in
 * active-active mode, reached through a next-hop group and pinned.
 */
function remoteSets(remotes: readonly RemoteCable[]): { grouped: boolean; gateways: { r: RemoteCable; slot: number }[] }[] {
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

/** The remote gateways whose flows are pinned (those of grouped clusters), with their slots. */
function pinned(remotes: readonly RemoteCable[]): { r: RemoteCable; slot: number }[] {
  return remoteSets(remotes).flatMap((set) => (set.grouped ? set.gateways : []));
}

/**
 * Pure (active-active remotes): the new flows that arrive from a remote gateway are marked with
 * its slot, told by its VTEP's fixed MAC; replies restore the mark and an ip rule sends them
 * back through the same gateway (table CABLE_PIN_TABLE + slot), so both directions of a flow
 * cross one gateway of each cluster (docs/architecture.md).
 */
function pinChain(remotes: readonly RemoteCable[]): host.ChainSpec[] {
  const ps = pinned(remotes);
  if (!ps.length) return [];
  const vtepOf = (r: RemoteCable) => vtepMac(withFirstOctet(r.endpoint.private_ip, VXLAN_CABLE.vtepOctet));
  return [
    {
      table: "mangle",
      chain: CABLE_PIN.chain,
      hook: "PREROUTING",
      rules: [
        ...ps.map(({ r, slot }) => ({
          match: { in: VXLAN_CABLE.name, ctNew: true, macSource: vtepOf(r) },
          target: { kind: "CONNMARK_SET" as const, mark: slot * CABLE_PIN.unit, mask: CABLE_PIN.mask },
        })),
        {
          match: { notIn: VXLAN_CABLE.name, connmark: { mark: 0, mask: CABLE_PIN.mask, not: true } },
          target: { kind: "CONNMARK_RESTORE", mask: CABLE_PIN.mask },
        },
      ],
    },
  ];
}

/** `steer` plus, for pinned remote gateways, a rule per slot and the slot's table of routes to them. */
function withPinning(
  steer: Pick<host.NetState, "routes" | "nexthops">,
  remotes: readonly RemoteCable[],
  src: string | undefined,
): Pick<host.NetState, "routes" | "nexthops" | "rules"> {
  const ps = pinned(remotes);
  const slots = [...new Set(ps.map((p) => p.slot))].sort((a, b) => a - b);
  const rules = [
    { priority: VXLAN_CABLE.priority, table: VXLAN_CABLE.table },
    ...slots.map((slot) => ({ priority: CABLE_PIN_RULE, table: CABLE_PIN_TABLE + slot, fwmark: { mark: slot * CABLE_PIN.unit, mask: CABLE_PIN.mask } })),
  ];
  const routes = ps.flatMap(({ r, slot }) =>
    r.endpoint.subnets.map((dst) => ({
      table: CABLE_PIN_TABLE + slot,
      dst,
      via: withFirstOctet(r.endpoint.private_ip, VXLAN_CABLE.vtepOctet),
      dev: VXLAN_CABLE.name,
      src,
      onlink: true,
    })),
  );
  return { ...steer, routes: [...steer.routes, ...routes], rules };
}

/** Resilient groups over a remote cluster's gateways: as the route agents' over the local ones (a flow keeps its bucket; a bucket idle 60 s may move to a gateway that comes). */
export const CABLE_GROUP = { buckets: 128, idleTimerS: 60 } as const;

/** Unencrypted VXLAN cables: one device, one FDB entry and table-100 routes per remote gateway. */
export class VxlanCableDriver implements CableDriver {
  readonly name = "vxlan";
  readonly #r: host.HostReconciler;
  readonly #device: host.HostReconciler;

  readonly #adapters: host.HostAdapters;

  constructor(adapters: host.HostAdapters) {
    this.#adapters = adapters;
    this.#r = new host.HostReconciler(adapters, VXLAN_OWNERSHIP);
    this.#device = new host.HostReconciler(adapters, { net: { links: [VXLAN_CABLE.name], tables: [], rulePriorities: [] }, chains: [], sets: [] });
  }

  async sync(local: LocalCable, remotes: readonly RemoteCable[]): Promise<CableState[]> {
    await this.#r.reconcile(vxlanDesired(local, remotes));
    return remotes.map((r) => ({ clusterId: r.endpoint.cluster_id, status: "connected", message: "cable installed" }));
  }

  async cleanup(): Promise<void> {
    await this.#r.removeAll();
  }

  async installedRemotes(): Promise<ReadonlySet<string>> {
    const obs = await this.#adapters.net.observe({ links: [VXLAN_CABLE.name], tables: [], rulePriorities: [] });
    return new Set(obs.fdb.filter((e) => e.dev === VXLAN_CABLE.name && e.mac === undefined).map((e) => e.dst));
  }

  async removeDevice(): Promise<void> {
    await this.#device.removeAll();
  }
}
