import { createPrivateKey, createPublicKey, generateKeyPairSync } from "node:crypto";
import { accessSync, constants, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import type { CommandRunner } from "../exec/index.ts";
import { ValidationError } from "@causeway/api";
import { HostStateError } from "../errors.ts";
import { keeperUp } from "./wgkeeper.ts";

/** A WireGuard key (private, public or preshared): 32 bytes, standard base64. */
export type WgKey = string;

/** True for exactly 32 bytes in canonical standard base64 (what wg prints and accepts). */
export function isWgKey(s: unknown): s is WgKey {
  if (typeof s !== "string" || s.length !== 44) return false;
  const b = Buffer.from(s, "base64");
  return b.length === 32 && b.toString("base64") === s;
}

/** A fresh x25519 key pair from node:crypto, as WireGuard writes keys. */
export function generateWgKeyPair(): { privateKey: WgKey; publicKey: WgKey } {
  const { privateKey, publicKey } = generateKeyPairSync("x25519");
  const d = privateKey.export({ format: "jwk" }).d ?? "";
  const x = publicKey.export({ format: "jwk" }).x ?? "";
  return { privateKey: Buffer.from(d, "base64url").toString("base64"), publicKey: Buffer.from(x, "base64url").toString("base64") };
}

/** The public key of a private key (x25519, clamped as WireGuard does). */
export function wgPublicKeyOf(privateKey: WgKey): WgKey {
  // PKCS#8 wrapping of a raw X25519 private key (RFC 8410): a fixed 16-byte prefix, then the 32 bytes.
  const der = Buffer.concat([Buffer.from("302e020100300506032b656e04220420", "hex"), Buffer.from(privateKey, "base64")]);
  const key = createPrivateKey({ key: der, format: "der", type: "pkcs8" });
  return Buffer.from(createPublicKey(key).export({ format: "jwk" }).x ?? "", "base64url").toString("base64");
}

export interface WgPeerConfig {
  readonly publicKey: WgKey;
  readonly presharedKey?: WgKey | undefined;
  /** ip:port; absent: the peer dials us and WireGuard answers where its handshake came from. */
  readonly endpoint?: string;
  readonly allowedIps: readonly string[];
  readonly keepaliveSeconds: number;
}

export interface WgConfig {
  readonly privateKey: WgKey;
  readonly listenPort: number;
  readonly peers: readonly WgPeerConfig[];
}

export interface WgPeerStatus {
  readonly publicKey: WgKey;
  /** The peer's current address (it roams: the last authenticated packet's source). */
  readonly endpoint: string;
  readonly allowedIps: readonly string[];
  /** Unix seconds of the last handshake; 0: none yet. */
  readonly latestHandshake: number;
  readonly rxBytes: number;
  readonly txBytes: number;
}

export interface WgStatus {
  readonly publicKey: WgKey;
  readonly listenPort: number;
  readonly peers: readonly WgPeerStatus[];
}

/** Neither the kernel module nor wireguard-go (or wg) is available: says what to install. */
/** Neither the kernel module nor wireguard-go: install one (the message says how), exit 2. */
export class WireGuardUnavailableError extends ValidationError {
  override name = "WireGuardUnavailableError";
}

/** A WireGuard device: created in the kernel or by wireguard-go, configured and read like `wg`. */
export interface WireGuard {
  /** Throws WireGuardUnavailableError naming what to install when devices cannot be made here (checked before anything is touched). */
  preflight(): void;
  /** Creates the device if it does not exist (kernel first, else wireguard-go), sets its MTU and brings it up. */
  ensure(name: string, mtu: number): Promise<"kernel" | "userspace" | "existing">;
  exists(name: string): Promise<boolean>;
  /** Of these names, those that are devices here now (one look at the links). */
  existing(names: readonly string[]): Promise<string[]>;
  /** Deletes the device (wireguard-go exits with it); absent is fine. */
  remove(name: string): Promise<void>;
  /** Makes the device's configuration exactly `cfg` (peers not listed are removed); sessions of unchanged peers survive. */
  configure(name: string, cfg: WgConfig): Promise<void>;
  /** The device's state; undefined when it does not exist. */
  show(name: string): Promise<WgStatus | undefined>;
  /** The device's private key; undefined when it does not exist or has none. */
  privateKey(name: string): Promise<WgKey | undefined>;
}

/**
 * Pure: the arguments of one `wg set` that takes a device from `shown` (undefined: unknown) to
 * `cfg`. Keys go by file (`keyFile(key)` names one holding it), never in an argument. Only what
 * differs is set: wireguard-go rebinds its socket whenever a port is set, even the same one, and a
 * peer's allowed IPs are removed before they are added back — either loses what arrives
 * meanwhile. Peers not in `cfg` are removed.
 */
export function wgSetArgs(name: string, cfg: WgConfig, shown: WgStatus | undefined, keyFile: (key: WgKey) => string): string[] {
  const args = ["set", name];
  if (shown?.listenPort !== cfg.listenPort) args.push("listen-port", String(cfg.listenPort));
  if (shown?.publicKey !== wgPublicKeyOf(cfg.privateKey)) args.push("private-key", keyFile(cfg.privateKey));
  const wanted = new Set(cfg.peers.map((p) => p.publicKey));
  for (const p of shown?.peers ?? []) if (!wanted.has(p.publicKey)) args.push("peer", p.publicKey, "remove");
  const sorted = (xs: readonly string[]) => [...xs].sort().join(",");
  for (const p of cfg.peers) {
    const now = shown?.peers.find((x) => x.publicKey === p.publicKey);
    args.push("peer", p.publicKey, "preshared-key", p.presharedKey ? keyFile(p.presharedKey) : "/dev/null");
    if (p.endpoint) args.push("endpoint", p.endpoint);
    args.push("persistent-keepalive", String(p.keepaliveSeconds));
    if (!now || sorted(now.allowedIps) !== sorted(p.allowedIps)) args.push("allowed-ips", p.allowedIps.join(","));
  }
  return args;
}

/** Pure: parses `wg show <dev> dump` (tab-separated; "(none)" and "off" for unset fields). */
export function parseWgDump(text: string): WgStatus | undefined {
  const rows = text
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => l.split("\t"));
  const head = rows[0];
  if (!head || head.length < 4) return undefined;
  const none = (v: string | undefined) => (v === undefined || v === "(none)" || v === "off" ? "" : v);
  return {
    publicKey: none(head[1]),
    listenPort: Number(head[2]),
    peers: rows.slice(1).map((r) => ({
      publicKey: r[0] ?? "",
      endpoint: none(r[2]),
      allowedIps: none(r[3]) ? (r[3] ?? "").split(",") : [],
      latestHandshake: Number(r[4] ?? 0),
      rxBytes: Number(r[5] ?? 0),
      txBytes: Number(r[6] ?? 0),
    })),
  };
}

/** Whether an executable is on PATH (checked before relying on it, to name the package that provides it). */
export function onPath(program: string, path = process.env.PATH ?? ""): boolean {
  if (program.includes("/")) {
    try {
      accessSync(program, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  }
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, program), constants.X_OK);
      return true;
    } catch {
      // not here
    }
  }
  return false;
}

/**
 * The real WireGuard: `ip link add … type wireguard` when the kernel has the module, otherwise
 * `wireguard-go` (a daemon per device; its control socket is /var/run/wireguard/<name>.sock, so
 * names must be unique per host, not per namespace); `wg set` (what differs) / `wg show dump` for both.
 */
export class WgTools implements WireGuard {
  readonly #run: CommandRunner;
  readonly #hasProgram: (p: string) => boolean;
  readonly #wireguardGo: string;
  readonly #tun: string;
  readonly #keeper: string | undefined;

  /**
   * `wireguardGo`: the userspace implementation to run (default $CAUSEWAY_WIREGUARD_GO, else
   * wireguard-go on PATH); `tun`: the TUN device it opens; `keeper`: the socket of a WireGuard
   * keeper (wgkeeper.ts; default $CAUSEWAY_WIREGUARD_KEEPER), which then starts wireguard-go
   * instead of this process, so the devices outlive it.
   */
  constructor(
    runner: CommandRunner,
    hasProgram: (p: string) => boolean = (p) => onPath(p),
    wireguardGo = process.env.CAUSEWAY_WIREGUARD_GO || "wireguard-go",
    tun = "/dev/net/tun",
    keeper = process.env.CAUSEWAY_WIREGUARD_KEEPER || undefined,
  ) {
    this.#run = runner;
    this.#hasProgram = hasProgram;
    this.#wireguardGo = wireguardGo;
    this.#tun = tun;
    this.#keeper = keeper;
  }

  preflight(): void {
    this.#needWg();
    // /sys/module/wireguard exists when the module is loaded or built in; otherwise wireguard-go must be there, with a TUN device.
    // With a keeper, it runs wireguard-go and checks both itself (it answers with what is missing).
    if (existsSync("/sys/module/wireguard") || this.#keeper) return;
    if (!this.#hasProgram(this.#wireguardGo)) throw this.#noWireguardGo("no WireGuard module loaded");
    this.#needTun();
  }

  /** wireguard-go opens the TUN device: a node or container without it gets a message naming it. */
  #needTun(): void {
    if (!existsSync(this.#tun))
      throw new WireGuardUnavailableError(
        `this kernel has no WireGuard module, and wireguard-go needs ${this.#tun}, which is missing here: ` +
          `load the tun module on the node (modprobe tun); in a container, mount the node's ${this.#tun} ` +
          `(causeway join does for --cable-driver wireguard) or use --cable-driver vxlan`,
      );
  }

  /** Neither the kernel (`why`) nor wireguard-go can make a device: names what to install. */
  #noWireguardGo(why: string): WireGuardUnavailableError {
    const which = this.#wireguardGo === "wireguard-go" ? "wireguard-go is not installed" : `${this.#wireguardGo} ($CAUSEWAY_WIREGUARD_GO) is not an executable`;
    return new WireGuardUnavailableError(
      `this kernel has ${why} and ${which}: install the wireguard-go package (apt-get install wireguard-go), or load the wireguard kernel module`,
    );
  }

  #needWg(): void {
    if (!this.#hasProgram("wg"))
      throw new WireGuardUnavailableError(
        "the wireguard cable driver needs the wg tool: install the wireguard-tools package (apt-get install wireguard-tools)",
      );
  }

  async exists(name: string): Promise<boolean> {
    const r = await this.#run.run("ip", ["-json", "link", "show", "dev", name], { allowFailure: true });
    return r.exitCode === 0;
  }

  async existing(names: readonly string[]): Promise<string[]> {
    const r = await this.#run.run("ip", ["-json", "link", "show"]);
    const here = new Set((JSON.parse(r.stdout || "[]") as { ifname: string }[]).map((l) => l.ifname));
    return names.filter((n) => here.has(n));
  }

  async ensure(name: string, mtu: number): Promise<"kernel" | "userspace" | "existing"> {
    this.#needWg();
    let how: "kernel" | "userspace" | "existing" = "existing";
    if (!(await this.exists(name))) {
      const k = await this.#run.run("ip", ["link", "add", name, "type", "wireguard"], { allowFailure: true });
      if (k.exitCode === 0) how = "kernel";
      else if (this.#keeper) {
        await keeperUp(this.#keeper, name);
        how = "userspace";
      } else {
        if (!this.#hasProgram(this.#wireguardGo))
          throw this.#noWireguardGo(`no WireGuard module (ip link add … type wireguard: ${k.stderr.trim() || `exit ${k.exitCode}`})`);
        this.#needTun();
        // wireguard-go forks a daemon that owns the device and returns once it is up.
        await this.#run.run(this.#wireguardGo, [name], { timeoutMs: 15_000 });
        how = "userspace";
      }
    }
    await this.#run.run("ip", ["link", "set", name, "mtu", String(mtu), "up"]);
    return how;
  }

  async remove(name: string): Promise<void> {
    await this.#run.run("ip", ["link", "del", name], { allowFailure: true });
  }

  async configure(name: string, cfg: WgConfig): Promise<void> {
    this.#needWg();
    if (!isWgKey(cfg.privateKey)) throw new ValidationError("the private key is not a WireGuard key (32 bytes, base64)");
    const bad = cfg.peers.find((p) => !isWgKey(p.publicKey));
    if (bad) throw new ValidationError(`peer key ${JSON.stringify(bad.publicKey)} is not a WireGuard key (32 bytes, base64)`);
    const shown = await this.show(name);
    if (!shown) throw new HostStateError(`Unable to modify interface: No such device (${name})`);
    // wg reads keys only from a path (our standard input is a socket it cannot open): 0600 files
    // in a private 0700 directory on tmpfs, removed at once. Keys never go in an argument.
    const dir = mkdtempSync(join(existsSync("/run") ? "/run" : tmpdir(), "causeway-wg-"));
    try {
      const files = new Map<WgKey, string>();
      const keyFile = (key: WgKey): string => {
        let f = files.get(key);
        if (!f) {
          f = join(dir, `key${files.size}`);
          writeFileSync(f, `${key}\n`, { mode: 0o600 });
          files.set(key, f);
        }
        return f;
      };
      const args = wgSetArgs(name, cfg, shown, keyFile);
      if (args.length > 2) await this.#run.run("wg", args); // nothing differs: nothing to set
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  async show(name: string): Promise<WgStatus | undefined> {
    this.#needWg();
    const r = await this.#run.run("wg", ["show", name, "dump"], { allowFailure: true });
    return r.exitCode === 0 ? parseWgDump(r.stdout) : undefined;
  }
  async privateKey(name: string): Promise<WgKey | undefined> {
    this.#needWg();
    const r = await this.#run.run("wg", ["show", name, "private-key"], { allowFailure: true });
    const key = r.stdout.trim();
    return r.exitCode === 0 && isWgKey(key) ? key : undefined;
  }
}

/** In-memory WireGuard for unit tests; handshakes are set by the test. */
export class FakeWireGuard implements WireGuard {
  /** `binds`: how often the device's socket was bound (a port set that differs from the one in place). */
  readonly devices = new Map<string, { mtu: number; cfg?: WgConfig; handshakes: Map<WgKey, number>; binds: number }>();
  /** Whether "the kernel" has the module (else the fake plays wireguard-go). */
  kernel = false;
  configureCalls = 0;

  preflight(): void {}

  async exists(name: string): Promise<boolean> {
    return this.devices.has(name);
  }

  async existing(names: readonly string[]): Promise<string[]> {
    return names.filter((n) => this.devices.has(n));
  }

  async ensure(name: string, mtu: number): Promise<"kernel" | "userspace" | "existing"> {
    const d = this.devices.get(name);
    if (d) {
      d.mtu = mtu;
      return "existing";
    }
    this.devices.set(name, { mtu, handshakes: new Map(), binds: 0 });
    return this.kernel ? "kernel" : "userspace";
  }

  async remove(name: string): Promise<void> {
    this.devices.delete(name);
  }

  async configure(name: string, cfg: WgConfig): Promise<void> {
    const d = this.devices.get(name);
    if (!d) throw new HostStateError(`Unable to modify interface: No such device (${name})`);
    if (!isWgKey(cfg.privateKey) || cfg.peers.some((p) => !isWgKey(p.publicKey))) throw new HostStateError("Key is not the correct length or format");
    this.configureCalls++;
    if (d.cfg?.listenPort !== cfg.listenPort) d.binds++;
    d.cfg = cfg;
  }

  async show(name: string): Promise<WgStatus | undefined> {
    const d = this.devices.get(name);
    if (!d) return undefined;
    if (!d.cfg) return { publicKey: "", listenPort: 0, peers: [] };
    return {
      publicKey: wgPublicKeyOf(d.cfg.privateKey),
      listenPort: d.cfg.listenPort,
      peers: d.cfg.peers.map((p) => ({
        publicKey: p.publicKey,
        endpoint: p.endpoint ?? "",
        allowedIps: [...p.allowedIps],
        latestHandshake: d.handshakes.get(p.publicKey) ?? 0,
        rxBytes: 0,
        txBytes: 0,
      })),
    };
  }
  async privateKey(name: string): Promise<WgKey | undefined> {
    return this.devices.get(name)?.cfg?.privateKey;
  }
}
