import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { createHash } from "node:crypto";
import { host } from "@causeway/common";
import {
  CABLE_ROUTING,
  type CableDriver,
  type CableState,
  cableChains,
  cableOwnership,
  cablePortOf,
  cableRole,
  DEFAULT_CABLE_PORT,
  type LocalCable,
  type RemoteCable,
  type Traffic,
} from "./driver.ts";

/**
 * WireGuard cable parameters (reference §4.2; our device name). Overhead: outer IPv4 (20) +
 * UDP (8) + WireGuard data header (16) + authentication tag (16) = 60 bytes.
 */
export const WG_CABLE = {
  defaultInterface: "causeway-wg",
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

/** Pure: the host state (routes, rule, filter) besides the device itself. */
export function wireguardDesired(iface: string, local: LocalCable, remotes: readonly RemoteCable[]): host.HostDesired {
  if (remotes.length === 0) return host.EMPTY_DESIRED;
  const src = local.source || local.endpoint.healthCheckIP || undefined;
  return {
    net: {
      links: [],
      fdb: [],
      rules: [{ priority: WG_CABLE.priority, table: WG_CABLE.table }],
      routes: remotes.flatMap((r) => r.endpoint.subnets.map((dst) => ({ table: WG_CABLE.table, dst, dev: iface, src }))),
    },
    chains: cableChains(iface, cablePortOf(local.endpoint.backend_config)),
    sets: new Map(),
    sysctls: new Map([
      ["net.ipv4.ip_forward", "1"],
      [`net.ipv4.conf.${iface}.rp_filter`, "2"],
    ]),
  };
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
  #applied = "";
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

  /** The addresses its peers are reached at now (configured, or learned from their handshakes). */
  async installedRemotes(): Promise<ReadonlySet<string>> {
    const shown = await this.#o.wg.show(this.iface).catch(() => undefined);
    return new Set((shown?.peers ?? []).map((p) => p.endpoint.replace(/:\d+$/, "")).filter(Boolean));
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
      if (problem) states.set(r.endpoint.cluster_id, { clusterId: r.endpoint.cluster_id, status: "error", message: problem });
      else usable.push(r);
    }
    if (this.#fresh) {
      // A device left by an earlier process carries its key, which no Endpoint publishes any more.
      await wg.remove(this.iface);
      this.#fresh = false;
      this.#applied = "";
    }
    const mtu = local.underlayMtu - WG_CABLE.overhead;
    await wg.ensure(this.iface, mtu);
    const cfg: host.WgConfig = {
      privateKey: this.#privateKey,
      listenPort: cablePortOf(local.endpoint.backend_config),
      peers: usable.map((r) => ({
        publicKey: r.endpoint.backend_config.publicKey ?? "",
        presharedKey: this.#psk,
        // A preferred server does not dial its clients: it answers them where their handshakes come from.
        ...(cableRole(local.endpoint, r.endpoint) === "server" ? {} : { endpoint: `${r.usingIP}:${cablePortOf(r.endpoint.backend_config)}` }),
        allowedIps: r.endpoint.subnets,
        keepaliveSeconds: WG_CABLE.keepaliveSeconds,
      })),
    };
    const fingerprint = JSON.stringify(cfg);
    let shown = await wg.show(this.iface);
    const drifted = !shown || driftedFrom(shown, this.publicKey, cfg);
    if (fingerprint !== this.#applied || drifted) {
      await wg.configure(this.iface, cfg);
      this.#applied = fingerprint;
      shown = await wg.show(this.iface);
    }
    await this.#r.reconcile(wireguardDesired(this.iface, local, usable));
    const now = this.#now();
    const keys = new Set(cfg.peers.map((p) => p.publicKey));
    for (const k of this.#configuredAt.keys()) if (!keys.has(k)) this.#configuredAt.delete(k);
    for (const r of usable) {
      const key = r.endpoint.backend_config.publicKey ?? "";
      if (!this.#configuredAt.has(key)) this.#configuredAt.set(key, now);
      const peer = shown?.peers.find((p) => p.publicKey === key);
      states.set(
        r.endpoint.cluster_id,
        peerState(r.endpoint.cluster_id, peer, this.#configuredAt.get(key) ?? now, now, cablePortOf(r.endpoint.backend_config)),
      );
    }
    return remotes.map((r) => states.get(r.endpoint.cluster_id) ?? { clusterId: r.endpoint.cluster_id, status: "connecting", message: "" });
  }

  async traffic(remotes: readonly RemoteCable[]): Promise<Map<string, Traffic>> {
    const shown = await this.#o.wg.show(this.iface);
    const out = new Map<string, Traffic>();
    for (const r of remotes) {
      const peer = shown?.peers.find((p) => p.publicKey === r.endpoint.backend_config.publicKey);
      if (peer) out.set(r.endpoint.cluster_id, { rxBytes: peer.rxBytes, txBytes: peer.txBytes });
    }
    return out;
  }

  async cleanup(): Promise<void> {
    await this.#r.removeAll();
    await this.removeDevice();
  }

  async removeDevice(): Promise<void> {
    await this.#o.wg.remove(this.iface);
    this.#applied = "";
  }
}
