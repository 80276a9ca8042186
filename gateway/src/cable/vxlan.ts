import { vtepMac, withFirstOctet } from "@causeway/api";
import { host } from "@causeway/common";
import {
  CABLE_ROUTING,
  type CableDriver,
  type CableState,
  cableChains,
  cableOwnership,
  cablePinChain,
  cablePortOf,
  cableRouting,
  type LocalCable,
  linkTraffic,
  pinned,
  type RemoteCable,
  type Traffic,
} from "./driver.ts";

/** Submariner-compatible VXLAN cable parameters (reference §4.3). */
export const VXLAN_CABLE = { name: "vxlan-tunnel", vni: 1000, port: 4500, vtepOctet: 241, overhead: 50, ...CABLE_ROUTING } as const;

export const VXLAN_OWNERSHIP: host.HostOwnership = cableOwnership([VXLAN_CABLE.name]);

/** A remote gateway's VTEP address. */
const vtepOf = (r: RemoteCable): string => withFirstOctet(r.endpoint.private_ip, VXLAN_CABLE.vtepOctet);

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
        const vtep = vtepMac(vtepOf(r));
        return [
          { dev: VXLAN_CABLE.name, dst: r.usingIP, port: remotePort(r) },
          { dev: VXLAN_CABLE.name, mac: vtep, dst: r.usingIP, port: remotePort(r) },
        ];
      }),
      ...cableRouting(remotes, src, (r) => ({ dev: VXLAN_CABLE.name, via: vtepOf(r) })),
    },
    chains: [
      ...cableChains(VXLAN_CABLE.name, port),
      // Pinned by the sending gateway's VTEP MAC (fixed: vtepMac).
      ...cablePinChain(
        pinned(remotes).map(({ r, slot }) => ({ match: { in: VXLAN_CABLE.name, macSource: vtepMac(vtepOf(r)) }, slot })),
        { notIn: VXLAN_CABLE.name },
      ),
    ],
    sets: new Map(),
    sysctls: new Map([
      ["net.ipv4.ip_forward", "1"],
      [`net.ipv4.conf.${VXLAN_CABLE.name}.rp_filter`, "2"],
    ]),
  };
}

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

  deviceTraffic(sysNet?: string): Promise<Traffic> {
    return linkTraffic([VXLAN_CABLE.name], sysNet);
  }
}
