/**
 * The WireGuard keeper: where a kernel has no WireGuard module, each cable device is a
 * wireguard-go process, and in a container a process dies with its container. The gateway's
 * container restarting (killed, out of memory, a crash) would take every cable with it, and its
 * flows would wait for the new container to make the devices again and handshake. So in
 * Kubernetes mode the gateway pod has a second container, the keeper (a native sidecar), that
 * starts the wireguard-go processes on the gateway's request and outlives the gateway's restarts:
 * the devices (host network) and their sessions stay, and the restarted gateway adopts them, as
 * it adopts the kernel's devices (docs/architecture.md, "WireGuard without the kernel module").
 *
 * Protocol: a UNIX socket (in a directory both containers mount); one JSON line per connection,
 * `{"up":"<device>"}`, answered by one line, `{"ok":true}` once the device's control socket
 * (`<runDir>/<device>.sock`) is there, or `{"error":"…"}`. Devices are removed the usual way
 * (`ip link del`): wireguard-go exits when its device goes.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { createConnection, createServer, type Server } from "node:net";
import { dirname, join } from "node:path";
import type { Logger } from "../log.ts";
import { ValidationError } from "@causeway/api";
import { HostStateError } from "../errors.ts";

/** wireguard-go's control sockets: one per device, shared by both containers. */
export const WG_RUN_DIR = "/var/run/wireguard";
/** How long a device may take to come up (wireguard-go opens the TUN device and its control socket). */
export const KEEPER_UP_TIMEOUT_MS = 15_000;
/** Linux's interface names: 1–15 characters, no slash or space. */
const DEVICE_NAME = /^[A-Za-z0-9_.=+-]{1,15}$/;

export interface KeeperOptions {
  /** The UNIX socket the keeper listens on. */
  readonly socket: string;
  /** The wireguard-go program. */
  readonly wireguardGo: string;
  /** Where wireguard-go puts its control sockets (WG_RUN_DIR; a test's own directory). */
  readonly runDir?: string;
  /** Whether a network device exists (default: /sys/class/net/<name>). */
  readonly linkExists?: (name: string) => boolean;
  readonly log: Logger;
}

/** One wireguard-go process per device, started on request, kept until its device goes. */
export class WireGuardKeeper {
  readonly #o: KeeperOptions;
  readonly #children = new Map<string, { child: ChildProcess; exited: Promise<void>; stderr: string }>();
  #server: Server | undefined;

  constructor(o: KeeperOptions) {
    this.#o = o;
  }

  get #runDir(): string {
    return this.#o.runDir ?? WG_RUN_DIR;
  }

  #linkExists(name: string): boolean {
    return (this.#o.linkExists ?? ((n) => existsSync(`/sys/class/net/${n}`)))(name);
  }

  /** The devices whose wireguard-go runs now. */
  running(): string[] {
    return [...this.#children.keys()].sort();
  }

  async listen(): Promise<void> {
    mkdirSync(dirname(this.#o.socket), { recursive: true });
    rmSync(this.#o.socket, { force: true }); // a socket left by an earlier keeper
    const server = createServer((conn) => {
      let line = "";
      conn.setEncoding("utf8");
      conn.on("error", () => undefined);
      conn.on("data", (chunk: string) => {
        line += chunk;
        if (!line.includes("\n")) {
          if (line.length > 1024) conn.end(`${JSON.stringify({ error: "request too long" })}\n`);
          return;
        }
        const request = line.slice(0, line.indexOf("\n"));
        conn.pause();
        this.#answer(request).then(
          () => conn.end(`${JSON.stringify({ ok: true })}\n`),
          (err: unknown) => conn.end(`${JSON.stringify({ error: err instanceof Error ? err.message : String(err) })}\n`),
        );
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.#o.socket, () => resolve());
    });
    this.#server = server;
  }

  async #answer(request: string): Promise<void> {
    let name: unknown;
    try {
      name = (JSON.parse(request) as { up?: unknown }).up;
    } catch {
      throw new ValidationError(`not a keeper request: ${JSON.stringify(request.slice(0, 80))}`);
    }
    if (typeof name !== "string" || !DEVICE_NAME.test(name)) throw new ValidationError(`not a device name: ${JSON.stringify(name)}`);
    await this.up(name);
  }

  /** Device `name` is up with its wireguard-go (started now, or already running). */
  async up(name: string): Promise<void> {
    const had = this.#children.get(name);
    if (had && this.#linkExists(name)) return;
    // Its device was removed and the process is on its way out: a new one once it has gone.
    if (had) await Promise.race([had.exited, new Promise((r) => setTimeout(r, 2000))]);
    const sock = join(this.#runDir, `${name}.sock`);
    const child = spawn(this.#o.wireguardGo, ["-f", name], { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, LOG_LEVEL: "error" } });
    const entry = { child, stderr: "", exited: new Promise<void>((resolve) => child.once("close", () => resolve())) };
    child.stderr?.setEncoding("utf8").on("data", (s: string) => (entry.stderr = (entry.stderr + s).slice(-2000)));
    child.once("error", (err) => (entry.stderr += err.message));
    this.#children.set(name, entry);
    void entry.exited.then(() => {
      if (this.#children.get(name) === entry) this.#children.delete(name);
      this.#o.log.info({ device: name, code: child.exitCode, signal: child.signalCode }, "wireguard-go exited");
    });
    const deadline = Date.now() + KEEPER_UP_TIMEOUT_MS;
    let gone = false;
    void entry.exited.then(() => (gone = true));
    while (!existsSync(sock) || !this.#linkExists(name)) {
      if (gone) throw new HostStateError(`wireguard-go ${name} exited (${child.exitCode ?? child.signalCode}): ${entry.stderr.trim() || "no message"}`);
      if (Date.now() > deadline) {
        child.kill("SIGKILL");
        throw new HostStateError(`wireguard-go ${name}: no device after ${KEEPER_UP_TIMEOUT_MS} ms`);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    this.#o.log.info({ device: name, pid: child.pid }, "wireguard-go started");
  }

  /**
   * Stops answering; waits up to `graceMs` for the devices to go (the gateway removes its cables
   * as it stops), then ends the wireguard-go processes left.
   */
  async close(graceMs: number): Promise<void> {
    await new Promise<void>((r) => (this.#server ? this.#server.close(() => r()) : r()));
    rmSync(this.#o.socket, { force: true });
    const all = [...this.#children.values()];
    const settled = Promise.all(all.map((c) => c.exited));
    const timer = new Promise<"late">((r) => setTimeout(() => r("late"), graceMs).unref());
    if ((await Promise.race([settled, timer])) === "late") {
      for (const c of this.#children.values()) c.child.kill("SIGTERM");
      await Promise.race([settled, new Promise((r) => setTimeout(r, 2000))]);
    }
  }
}

/** Asks the keeper at `socket` for device `name` (made, or there already); rejects with its error. */
export function keeperUp(socket: string, name: string, timeoutMs = KEEPER_UP_TIMEOUT_MS + 2000): Promise<void> {
  return new Promise((resolve, reject) => {
    const conn = createConnection(socket);
    let reply = "";
    const timer = setTimeout(() => {
      conn.destroy();
      reject(new HostStateError(`the WireGuard keeper (${socket}) did not answer for ${name} within ${timeoutMs} ms`));
    }, timeoutMs);
    conn.setEncoding("utf8");
    conn.on("data", (s: string) => (reply += s));
    conn.on("error", (err) => {
      clearTimeout(timer);
      reject(new HostStateError(`cannot reach the WireGuard keeper at ${socket} (${err.message}): is the gateway pod's wireguard container running?`));
    });
    conn.on("end", () => {
      clearTimeout(timer);
      try {
        const r = JSON.parse(reply) as { ok?: boolean; error?: string };
        if (r.ok) resolve();
        else reject(new HostStateError(`the WireGuard keeper could not make ${name}: ${r.error ?? reply}`));
      } catch {
        reject(new HostStateError(`the WireGuard keeper answered ${JSON.stringify(reply.slice(0, 200))} for ${name}`));
      }
    });
    conn.write(`${JSON.stringify({ up: name })}\n`);
  });
}
