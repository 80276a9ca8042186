import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { createHash } from "node:crypto";
import { gatewayModeOf, gatewaySlotOf, MAX_GATEWAY_SLOTS, remoteKey, ValidationError } from "@causeway/api";
import { host } from "@causeway/common";
import {
  CABLE_ROUTING,
  type CableDriver,
  type CableState,
  cableChains,
  cableOwnership,
  cablePinChain,
  cablePortOf,
  cableRole,
  cableRouting,
  DEFAULT_CABLE_PORT,
  linkTraffic,
  type LocalCable,
  pinned,
  type RemoteCable,
  type Traffic,
} from "./driver.ts";

/**
 * WireGuard cable parameters (reference §4.2; our device name). Overhead: outer IPv4 (20) +
 * UDP (8) + WireGuard data header (16) + authentication tag (16) = 60 bytes.
 */
export const WG_CABLE = {
  defaultInterface: "causeway-wg",
  /** Linux's limit on interface names. */
  maxInterfaceChars: 15,
  overhead: 60,
  keepaliveSeconds: 10,
  ...CABLE_ROUTING,
  /** No first handshake this long after a peer was configured: the cable is in error (Submariner's 2 min 10 s). */
  firstHandshakeS: 130,
  /** Sessions are unusable this long after their handshake (WireGuard's Reject-After-Time). */
  staleHandshakeS: 180,
} as const;

/** Pure: the 32-byte preshared key of a clusterset secret (sha256 of the secret, as Submariner derives it). */
export function presharedKeyOf(secret: string): host.WgKey {
  return createHash("sha256").update(secret, "utf8").digest("base64");
}

/**
 * Active-active (docs/architecture.md): one device per **plane**, because WireGuard picks a peer
 * by a packet's address alone, so a remote cluster's subnets can be the allowed IPs of only one
 * peer per device. Plane 0 (the device `iface`, on the Endpoint's udp-port) holds the remote
 * gateways in active-passive mode, as before; plane k (`iface-k`, on udp-port + k) the remote
 * gateways in slot k — at most one per remote cluster. Each side dials the other on the other's
 * udp-port + its own slot (0 in active-passive mode): the port of the other's device that holds it.
 */
export const planeOf = (r: RemoteCable): number => (gatewayModeOf(r.endpoint) === "active-active" ? (gatewaySlotOf(r.endpoint) ?? 0) : 0);

/** The device of plane `plane` (WG_CABLE.maxInterfaceChars at most: Linux's limit). */
export function planeDevice(iface: string, plane: number): string {
  const name = plane === 0 ? iface : `${iface}-${plane}`;
  if (name.length > WG_CABLE.maxInterfaceChars)
    throw new ValidationError(
      `WireGuard interface ${iface} is too long for active-active remotes (${name} is over ${WG_CABLE.maxInterfaceChars} characters): choose a name of 12 or fewer`,
    );
  return name;
}

/** Pure: the remote gateways by plane. */
export function planesOf(remotes: readonly RemoteCable[]): Map<number, RemoteCable[]> {
  const out = new Map<number, RemoteCable[]>();
  for (const r of remotes) out.set(planeOf(r), [...(out.get(planeOf(r)) ?? []), r]);
  return out;
}

/**
 * Pure: the host state (routes, rules, nexthops, filter) besides the devices themselves. A remote
 * cluster with one gateway: its subnets into that gateway's device. With several (active-active):
 * through a resilient next-hop group over their devices, and the flows that came in from one of
 * them pinned to it (marked by device, replies to table CABLE_PIN_TABLE + slot), as VXLAN cables do.
 */
export function wireguardDesired(iface: string, local: LocalCable, remotes: readonly RemoteCable[]): host.HostDesired {
  if (remotes.length === 0) return host.EMPTY_DESIRED;
  const src = local.source || local.endpoint.healthCheckIP || undefined;
  const port = cablePortOf(local.endpoint.backend_config);
  const dev = (r: RemoteCable) => planeDevice(iface, planeOf(r));
  const routing = cableRouting(remotes, src, (r) => ({ dev: dev(r) }));
  const planes = [...new Set(remotes.map(planeOf))].sort((a, b) => a - b);
  const devices = planes.map((p) => planeDevice(iface, p));
  return {
    net: {
      links: [],
      fdb: [],
      ...routing,
    },
    chains: [
      ...wgChains(
        devices,
        planes.map((p) => port + p),
      ),
      // Pinned by the device the packets come in on; restored on every packet (a pin table holds remote subnets only, so a packet bound for this cluster misses it and goes on).
      ...cablePinChain(
        pinned(remotes).map(({ r, slot }) => ({ match: { in: dev(r) }, slot })),
        {},
      ),
    ],
    sets: new Map(),
    sysctls: new Map([
      ["net.ipv4.ip_forward", "1"],
      // No reverse-path check of the kernel's on the devices: WireGuard's own is stricter (a packet
      // from a peer must come from its allowed IPs). The kernel's would drop what a draining remote
      // gateway still sends: its device, addressless, is in no route (docs/architecture.md).
      ...devices.map((d) => [`net.ipv4.conf.${d}.rp_filter`, "0"] as [string, string]),
      ...(routing.nexthops ? [["net.ipv4.fib_multipath_hash_policy", "1"] as [string, string]] : []),
    ]),
  };
}

/** Pure: the gateway chains of the WireGuard devices: each plane's port accepted on INPUT, everything in and out of each device in FORWARD. */
function wgChains(devices: readonly string[], ports: readonly number[]): host.ChainSpec[] {
  const [input, forward] = cableChains(devices[0] ?? "", ports[0] ?? DEFAULT_CABLE_PORT);
  if (!input || !forward) return [];
  return [
    { ...input, rules: ports.map((port) => ({ match: { proto: "udp" as const, dport: port }, target: { kind: "ACCEPT" as const } })) },
    { ...forward, rules: devices.flatMap((d) => cableChains(d, 0)[1]?.rules ?? []) },
  ];
}

/** Pure: a cable's state from its peer's handshake (reference §4.2, with WireGuard's own session lifetime). */
export function peerState(clusterId: string, peer: host.WgPeerStatus | undefined, configuredAtS: number, nowS: number, port = DEFAULT_CABLE_PORT): CableState {
  if (!peer) return { clusterId, status: "connecting", message: "peer not configured yet" };
  const traffic = `rx ${peer.rxBytes} B, tx ${peer.txBytes} B`;
  if (peer.latestHandshake === 0) {
    const waited = Math.round(nowS - configuredAtS);
    return waited > WG_CABLE.firstHandshakeS
      ? {
          clusterId,
          status: "error",
          message: `no handshake with ${peer.endpoint || "the peer"} after ${waited} s: is UDP ${port} open between the gateways?`,
        }
      : { clusterId, status: "connecting", message: "waiting for the first handshake" };
  }
  const age = Math.max(0, Math.round(nowS - peer.latestHandshake));
  return age > WG_CABLE.staleHandshakeS
    ? { clusterId, status: "error", message: `last handshake ${age} s ago; ${traffic}` }
    : { clusterId, status: "connected", message: `handshake ${age} s ago; ${traffic}` };
}

/**
 * Pure: whether the device no longer carries `cfg` (changed by hand or by another tool): its key,
 * port, peers or their allowed IPs differ. Peer endpoints are not compared: WireGuard roams
 * (behind NAT the address a peer sends from is not the one configured).
 */
export function driftedFrom(shown: host.WgStatus, publicKey: host.WgKey, cfg: host.WgConfig): boolean {
  if (shown.publicKey !== publicKey || shown.listenPort !== cfg.listenPort || shown.peers.length !== cfg.peers.length) return true;
  const ips = (xs: readonly string[]) => [...xs].sort().join(",");
  return cfg.peers.some((p) => {
    const peer = shown.peers.find((x) => x.publicKey === p.publicKey);
    return !peer || ips(peer.allowedIps) !== ips(p.allowedIps);
  });
}

/** Why a remote cannot get a peer (bad input from the broker), or undefined. */
function unusable(r: RemoteCable): string | undefined {
  const key = r.endpoint.backend_config.publicKey;
  if (!host.isWgKey(key)) return `the remote gateway's public key ${JSON.stringify(key ?? "(none)")} is not a WireGuard key (32 bytes, base64)`;
  if (!r.usingIP) return "the remote endpoint has no reachable IP";
  return undefined;
}

/** The key pair kept in `file` (made and written there, mode 0600, when it holds none), or a fresh one without a file. */
export function keyPairOf(file: string | undefined): { privateKey: host.WgKey; publicKey: host.WgKey } {
  if (file) {
    const kept = existsSync(file) ? readFileSync(file, "utf8").trim() : "";
    if (host.isWgKey(kept)) return { privateKey: kept, publicKey: host.wgPublicKeyOf(kept) };
  }
  const keys = host.generateWgKeyPair();
  if (file) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `${keys.privateKey}\n`, { mode: 0o600 });
  }
  return keys;
}

export interface WireGuardDriverOptions {
  readonly adapters: host.HostAdapters;
  readonly wg: host.WireGuard;
  /** Device name; unique per host when wireguard-go runs (its control sockets are host-wide). */
  readonly iface?: string;
  /** The clusterset secret from broker-info; peers then also share a preshared key derived from it. */
  readonly secret?: string;
  /**
   * Where the private key outlives the process (Kubernetes: a memory emptyDir of the gateway's
   * pod, kept across container restarts): a restarted container whose userspace device died with
   * it makes the device again with the same key, so its Endpoint and the peers' configuration do not
   * change and a handshake restores the cables. Absent: a fresh key pair per process.
   */
  readonly keyFile?: string;
  readonly nowS?: () => number;
}

/**
 * Encrypted cables: one WireGuard device, one peer per remote cluster (its subnets as allowed
 * IPs, keepalive 10 s, the clusterset preshared key), remote subnets routed into the device
 * from table 100. A fresh key pair per process (the first sync recreates the device), unless
 * the process adopts the device an earlier one left (adopt(): its key, so peers need no new
 * handshake and a restart cuts nothing). The public key reaches peers through this gateway's
 * Endpoint (backend_config publicKey).
 */
export class WireGuardCableDriver implements CableDriver {
  readonly name = "wireguard";
  readonly iface: string;
  #publicKey: host.WgKey;
  #privateKey: host.WgKey;
  readonly #psk: host.WgKey | undefined;
  readonly #o: WireGuardDriverOptions;
  readonly #r: host.HostReconciler;
  #fresh = true;
  /** Each plane's configuration as last applied. */
  readonly #applied = new Map<number, string>();
  /** The planes whose devices this process made. */
  #planes = new Set<number>();
  /** When each peer (plane/key) was configured: no handshake long after is an error. */
  readonly #configuredAt = new Map<string, number>();

  constructor(o: WireGuardDriverOptions) {
    this.#o = o;
    this.iface = o.iface ?? WG_CABLE.defaultInterface;
    const keys = keyPairOf(o.keyFile);
    this.#privateKey = keys.privateKey;
    this.#publicKey = keys.publicKey;
    this.#psk = o.secret ? presharedKeyOf(o.secret) : undefined;
    // The device is wireguard-go's or the kernel's, made through WireGuard; the reconciler owns the rest.
    this.#r = new host.HostReconciler(o.adapters, cableOwnership([]));
  }

  preflight(): void {
    this.#o.wg.preflight();
  }

  /** The addresses its peers are reached at now (configured, or learned from their handshakes), on every plane's device. */
  async installedRemotes(): Promise<ReadonlySet<string>> {
    const out = new Set<string>();
    for (const p of await this.#existingPlanes().catch(() => [0])) {
      const shown = await this.#o.wg.show(planeDevice(this.iface, p)).catch(() => undefined);
      for (const peer of shown?.peers ?? []) if (peer.endpoint) out.add(peer.endpoint.replace(/:\d+$/, ""));
    }
    return out;
  }

  get publicKey(): host.WgKey {
    return this.#publicKey;
  }

  /**
   * A restarted gateway takes over the device its previous process left, with its key: peers
   * keep their sessions (nothing to re-handshake). False when there is none to adopt.
   */
  async adopt(): Promise<boolean> {
    const key = await this.#o.wg.privateKey(this.iface);
    if (!key) return false;
    this.#privateKey = key;
    this.#publicKey = host.wgPublicKeyOf(key);
    this.#fresh = false;
    // The device's key is the one peers know: a restart that finds no device uses it too.
    if (this.#o.keyFile) writeFileSync(this.#o.keyFile, `${key}\n`, { mode: 0o600 });
    return true;
  }

  backendConfig(): Record<string, string> {
    return { publicKey: this.publicKey, "interface-name": this.iface };
  }

  #now(): number {
    return (this.#o.nowS ?? (() => Date.now() / 1000))();
  }

  async sync(local: LocalCable, remotes: readonly RemoteCable[]): Promise<CableState[]> {
    const wg = this.#o.wg;
    const states = new Map<string, CableState>();
    const usable: RemoteCable[] = [];
    for (const r of remotes) {
      const problem = unusable(r);
      if (problem) states.set(r.endpoint.cable_name, { clusterId: r.endpoint.cluster_id, status: "error", message: problem });
      else usable.push(r);
    }
    if (this.#fresh) {
      // Devices left by an earlier process carry its key, which no Endpoint publishes any more.
      for (const p of await this.#existingPlanes()) await wg.remove(planeDevice(this.iface, p));
      this.#fresh = false;
      this.#applied.clear();
    }
    const planes = planesOf(usable);
    // Plane 0 (the Endpoint's device) always: its key and port are what the Endpoint publishes.
    if (!planes.has(0)) planes.set(0, []);
    for (const [plane, rs] of planes) await this.#syncPlane(local, plane, rs, states);
    // Routes and rules first, then the devices no longer needed: nothing is routed into a device going away.
    await this.#r.reconcile(wireguardDesired(this.iface, local, usable));
    for (const p of this.#planes) if (!planes.has(p)) await this.#removePlane(p);
    this.#planes = new Set(planes.keys());
    const keys = new Set(usable.map((r) => `${planeOf(r)}/${r.endpoint.backend_config.publicKey ?? ""}`));
    for (const k of this.#configuredAt.keys()) if (!keys.has(k)) this.#configuredAt.delete(k);
    return remotes.map((r) => states.get(r.endpoint.cable_name) ?? { clusterId: r.endpoint.cluster_id, status: "connecting", message: "" });
  }

  /** Plane `plane`'s device carries exactly the peers `rs` (on port udp-port + plane); their states go into `states`. */
  async #syncPlane(local: LocalCable, plane: number, rs: readonly RemoteCable[], states: Map<string, CableState>): Promise<void> {
    const wg = this.#o.wg;
    const dev = planeDevice(this.iface, plane);
    await wg.ensure(dev, local.underlayMtu - WG_CABLE.overhead);
    // A remote gateway's device for this one is its plane of this gateway's slot (0 in active-passive mode): its port + that slot.
    const mySlot = gatewayModeOf(local.endpoint) === "active-active" ? (gatewaySlotOf(local.endpoint) ?? 0) : 0;
    const cfg: host.WgConfig = {
      privateKey: this.#privateKey,
      listenPort: cablePortOf(local.endpoint.backend_config) + plane,
      peers: rs.map((r) => ({
        publicKey: r.endpoint.backend_config.publicKey ?? "",
        presharedKey: this.#psk,
        // A preferred server does not dial its clients: it answers them where their handshakes come from.
        ...(cableRole(local.endpoint, r.endpoint) === "server" ? {} : { endpoint: `${r.usingIP}:${cablePortOf(r.endpoint.backend_config) + mySlot}` }),
        allowedIps: r.endpoint.subnets,
        keepaliveSeconds: WG_CABLE.keepaliveSeconds,
      })),
    };
    const fingerprint = JSON.stringify(cfg);
    let shown = await wg.show(dev);
    const drifted = !shown || driftedFrom(shown, this.publicKey, cfg);
    if (fingerprint !== this.#applied.get(plane) || drifted) {
      await wg.configure(dev, cfg);
      this.#applied.set(plane, fingerprint);
      shown = await wg.show(dev);
    }
    const now = this.#now();
    for (const r of rs) {
      const key = r.endpoint.backend_config.publicKey ?? "";
      const at = `${plane}/${key}`;
      if (!this.#configuredAt.has(at)) this.#configuredAt.set(at, now);
      const peer = shown?.peers.find((p) => p.publicKey === key);
      states.set(r.endpoint.cable_name, peerState(r.endpoint.cluster_id, peer, this.#configuredAt.get(at) ?? now, now, cablePortOf(r.endpoint.backend_config)));
    }
  }

  async #removePlane(plane: number): Promise<void> {
    if (plane === 0) return;
    await this.#o.wg.remove(planeDevice(this.iface, plane));
    this.#applied.delete(plane);
  }

  /** The planes whose devices exist now (plane 0 and any active-active plane an earlier process made). */
  async #existingPlanes(): Promise<number[]> {
    const names = new Map<string, number>();
    for (let p = 0; p <= MAX_GATEWAY_SLOTS; p++) {
      const name = p === 0 ? this.iface : `${this.iface}-${p}`;
      if (name.length <= WG_CABLE.maxInterfaceChars) names.set(name, p);
    }
    return (await this.#o.wg.existing([...names.keys()])).map((n) => names.get(n) ?? 0);
  }

  async traffic(remotes: readonly RemoteCable[]): Promise<Map<string, Traffic>> {
    const out = new Map<string, Traffic>();
    const shown = new Map<number, host.WgStatus | undefined>();
    for (const r of remotes) {
      const p = planeOf(r);
      if (!shown.has(p)) shown.set(p, await this.#o.wg.show(planeDevice(this.iface, p)));
      const peer = shown.get(p)?.peers.find((x) => x.publicKey === r.endpoint.backend_config.publicKey);
      if (peer) out.set(remoteKey(r.endpoint), { rxBytes: peer.rxBytes, txBytes: peer.txBytes });
    }
    return out;
  }

  async cleanup(): Promise<void> {
    await this.#r.removeAll();
    await this.removeDevice();
  }

  deviceTraffic(sysNet?: string): Promise<Traffic> {
    return linkTraffic(
      [...new Set([0, ...this.#planes])].map((p) => planeDevice(this.iface, p)),
      sysNet,
    );
  }

  /** Removes every plane's device. */
  async removeDevice(): Promise<void> {
    for (const p of new Set([...this.#planes, ...(await this.#existingPlanes())])) await this.#o.wg.remove(planeDevice(this.iface, p));
    this.#planes = new Set();
    this.#applied.clear();
  }
}
