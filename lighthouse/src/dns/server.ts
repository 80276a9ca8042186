import { createSocket, type Socket } from "node:dgram";
import { createServer, type Server, type Socket as TcpSocket } from "node:net";
import { networkInterfaces } from "node:os";
import type { Logger } from "@causeway/common";
import type { Resolver } from "./resolver.ts";
import { decodeQuery, EDNS_MAX_SIZE, encodeResponse, type Query, UDP_DEFAULT_SIZE } from "./wire.ts";
import { ValidationError } from "@causeway/api";

export interface DnsServerOptions {
  /** UDP and TCP port (53 in clusters; 0 picks a free one). */
  readonly port: number;
  readonly host?: string;
  readonly resolver: Resolver;
  readonly log: Logger;
  /** A TCP connection idle this long is closed. */
  readonly tcpIdleMs?: number;
  /** While false (the source has not loaded yet) every query is SERVFAIL: never a negative answer clients would cache. */
  readonly ready?: () => boolean;
  /** Called with each response's rcode (metrics). */
  readonly onAnswer?: (rcode: number) => void;
  /** With host 0.0.0.0: how often the host's addresses are re-read for UDP sockets (default 5 s). */
  readonly rescanMs?: number;
  /** The host's IPv4 addresses (default: from the kernel); tests replace it. */
  readonly addresses?: () => string[];
}

/** The IPv4 addresses of this network namespace's interfaces. */
export function localIPv4(): string[] {
  return Object.values(networkInterfaces())
    .flatMap((list) => list ?? [])
    .filter((a) => a.family === "IPv4")
    .map((a) => a.address);
}

const TCP_MAX = 65535;

/**
 * Pure-ish: the response to one DNS message, or undefined when none is due (shorter than a
 * header, or itself a response). Never throws: anything unreadable past the header is
 * FORMERR, anything failing inside is SERVFAIL.
 */
export function answerMessage(resolver: Resolver, buf: Buffer, transport: "udp" | "tcp", ready = true): Buffer | undefined {
  return respond(resolver, buf, transport, ready).out;
}

/** answerMessage, and whether the same message would get the same response until the source's version changes. */
function respond(resolver: Resolver, buf: Buffer, transport: "udp" | "tcp", ready: boolean): { out?: Buffer; cacheable: boolean } {
  const q = decodeQuery(buf);
  if (q === undefined) return { cacheable: false };
  if (q === "unreadable") {
    const flags = buf.readUInt16BE(2);
    const out = encodeResponse({
      query: { id: buf.readUInt16BE(0), rd: (flags & 0x100) !== 0, opcode: (flags >> 11) & 0xf, questions: 0 },
      rcode: "FORMERR",
      maxSize: TCP_MAX,
    });
    return { out, cacheable: false };
  }
  const maxSize = transport === "tcp" ? TCP_MAX : q.udpSize === undefined ? UDP_DEFAULT_SIZE : Math.min(Math.max(q.udpSize, UDP_DEFAULT_SIZE), EDNS_MAX_SIZE);
  const reply = (query: Query, rcode: Parameters<typeof encodeResponse>[0]["rcode"]) => ({ out: encodeResponse({ query, rcode, maxSize }), cacheable: false });
  if (q.opcode !== 0) return reply({ ...q, question: undefined }, "NOTIMP");
  if (q.questions !== 1 || !q.question) return reply({ ...q, question: undefined }, "FORMERR");
  if (q.question.classCode !== 1) return reply(q, "REFUSED");
  if (!ready) return reply(q, "SERVFAIL");
  try {
    const answer = resolver.resolve({ name: q.question.name, type: q.question.type });
    return { out: encodeResponse({ query: q, rcode: answer.rcode, answer, maxSize }), cacheable: answer.varies !== true };
  } catch {
    return reply(q, "SERVFAIL");
  }
}

/**
 * Encoded answers by query (everything after the id, per transport), valid for one version of
 * the source: a repeated query is answered by copying bytes and setting the id. Bounded:
 * emptied when full or when the source changes.
 */
class AnswerCache {
  readonly #max: number;
  #version: number | undefined;
  readonly #map = new Map<string, Buffer>();

  constructor(max: number) {
    this.#max = max;
  }

  /** The cache key of a message, or undefined when answers may not be cached now (no source version). */
  key(msg: Buffer, transport: "udp" | "tcp", version: number | undefined): string | undefined {
    if (version === undefined) return undefined;
    if (version !== this.#version) {
      this.#map.clear();
      this.#version = version;
    }
    return transport + msg.toString("latin1", 2);
  }

  get(key: string, id: number): Buffer | undefined {
    const hit = this.#map.get(key);
    if (!hit) return undefined;
    const out = Buffer.allocUnsafe(hit.length);
    hit.copy(out);
    out.writeUInt16BE(id, 0);
    return out;
  }

  set(key: string, out: Buffer): void {
    if (this.#map.size >= this.#max) this.#map.clear();
    this.#map.set(key, Buffer.from(out));
  }
}

/**
 * The clusterset DNS server: UDP and TCP on one port, answers from a Resolver. On the wildcard
 * address UDP is served by one socket per local address (re-read every few seconds), not one
 * wildcard socket: a wildcard UDP socket answers from whatever source the route picks, and on a
 * host with several addresses (a standalone node: LAN, CNI bridge, cables) a client that asked
 * 198.19.1.10 would get its answer from 10.1.0.1 and drop it. TCP answers on its connection.
 */
export class DnsServer {
  readonly #o: DnsServerOptions;
  readonly #udp = new Map<string, Socket>();
  readonly #tcp: Server;
  readonly #conns = new Set<TcpSocket>();
  #port = 0;
  #rescan: NodeJS.Timeout | undefined;
  readonly #cache = new AnswerCache(10_000);

  private constructor(o: DnsServerOptions) {
    this.#o = o;
    this.#tcp = createServer((sock) => this.#serveTcp(sock));
  }

  static async start(o: DnsServerOptions): Promise<DnsServer> {
    const s = new DnsServer(o);
    const host = o.host ?? "0.0.0.0";
    const wildcard = host === "0.0.0.0";
    const addresses = wildcard ? (o.addresses ?? localIPv4)() : [host];
    if (!addresses.length) throw new ValidationError("no IPv4 address to serve DNS on");
    try {
      s.#port = o.port;
      for (const a of addresses) await s.#bindUdp(a);
      await new Promise<void>((resolve, reject) => {
        s.#tcp.once("error", reject);
        s.#tcp.listen(s.#port, host, () => resolve());
      });
    } catch (err) {
      await s.close();
      throw err;
    }
    if (wildcard) {
      s.#rescan = setInterval(() => void s.#rebind(), o.rescanMs ?? 5000);
      s.#rescan.unref();
    }
    return s;
  }

  /** One UDP socket on `address` (the first one fixes the port when 0 was asked for). */
  async #bindUdp(address: string): Promise<void> {
    const sock = createSocket("udp4");
    await new Promise<void>((resolve, reject) => {
      sock.once("error", reject);
      sock.bind(this.#port, address, () => {
        sock.off("error", reject);
        resolve();
      });
    });
    this.#port = sock.address().port;
    sock.on("message", (msg, rinfo) => {
      const out = this.#answer(msg, "udp");
      if (out) sock.send(out, rinfo.port, rinfo.address);
    });
    sock.on("error", (err) => this.#o.log.warn({ address, err: err.message }, "DNS UDP socket error"));
    this.#udp.set(address, sock);
  }

  /** Follows the host's addresses: sockets for new ones, closed for gone ones. */
  async #rebind(): Promise<void> {
    const now = new Set((this.#o.addresses ?? localIPv4)());
    for (const [a, sock] of this.#udp) {
      if (now.has(a)) continue;
      sock.close();
      this.#udp.delete(a);
    }
    for (const a of now) {
      if (this.#udp.has(a)) continue;
      await this.#bindUdp(a).catch((err: unknown) => this.#o.log.warn({ address: a, err: String(err) }, "could not serve DNS on a new address"));
    }
  }

  /** The addresses UDP is served on. */
  get udpAddresses(): string[] {
    return [...this.#udp.keys()];
  }

  #answer(msg: Buffer, transport: "udp" | "tcp"): Buffer | undefined {
    const ready = this.#o.ready?.() ?? true;
    const key = ready && msg.length > 12 ? this.#cache.key(msg, transport, this.#o.resolver.version()) : undefined;
    const hit = key === undefined ? undefined : this.#cache.get(key, msg.readUInt16BE(0));
    const { out, cacheable } = hit ? { out: hit, cacheable: false } : respond(this.#o.resolver, msg, transport, ready);
    if (out && cacheable && key !== undefined) this.#cache.set(key, out);
    if (out) this.#o.onAnswer?.((out[3] ?? 0) & 0xf);
    return out;
  }

  get port(): number {
    return this.#port;
  }

  /** Length-prefixed messages (RFC 1035 §4.2.2), several per connection; idle connections are closed. */
  #serveTcp(sock: TcpSocket): void {
    this.#conns.add(sock);
    sock.setTimeout(this.#o.tcpIdleMs ?? 10_000, () => sock.destroy());
    sock.on("close", () => this.#conns.delete(sock));
    sock.on("error", () => sock.destroy());
    let pending = Buffer.alloc(0);
    sock.on("data", (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 2) {
        const len = pending.readUInt16BE(0);
        if (pending.length < 2 + len) break;
        const msg = pending.subarray(2, 2 + len);
        pending = pending.subarray(2 + len);
        const out = this.#answer(Buffer.from(msg), "tcp");
        if (!out) continue;
        const frame = Buffer.alloc(2 + out.length);
        frame.writeUInt16BE(out.length, 0);
        out.copy(frame, 2);
        sock.write(frame);
      }
    });
  }

  async close(): Promise<void> {
    if (this.#rescan) clearInterval(this.#rescan);
    for (const c of this.#conns) c.destroy();
    const udp = [...this.#udp.values()].map((u) => new Promise<void>((r) => u.close(() => r())));
    this.#udp.clear();
    const tcp = this.#tcp.listening ? new Promise<void>((r) => this.#tcp.close(() => r())) : Promise.resolve();
    await Promise.all([...udp, tcp]);
  }
}
