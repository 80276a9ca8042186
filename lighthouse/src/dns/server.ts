import { createSocket, type Socket } from "node:dgram";
import { createServer, type Server, type Socket as TcpSocket } from "node:net";
import type { Logger } from "@causeway/common";
import type { Resolver } from "./resolver.ts";
import { decodeQuery, EDNS_MAX_SIZE, encodeResponse, type Query, UDP_DEFAULT_SIZE } from "./wire.ts";

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
}

const TCP_MAX = 65535;

/**
 * Pure-ish: the response to one DNS message, or undefined when none is due (shorter than a
 * header, or itself a response). Never throws: anything unreadable past the header is
 * FORMERR, anything failing inside is SERVFAIL.
 */
export function answerMessage(resolver: Resolver, buf: Buffer, transport: "udp" | "tcp", ready = true): Buffer | undefined {
  const q = decodeQuery(buf);
  if (q === undefined) return undefined;
  if (q === "unreadable") {
    const flags = buf.readUInt16BE(2);
    return encodeResponse({
      query: { id: buf.readUInt16BE(0), rd: (flags & 0x100) !== 0, opcode: (flags >> 11) & 0xf, questions: 0 },
      rcode: "FORMERR",
      maxSize: TCP_MAX,
    });
  }
  const maxSize = transport === "tcp" ? TCP_MAX : q.udpSize === undefined ? UDP_DEFAULT_SIZE : Math.min(Math.max(q.udpSize, UDP_DEFAULT_SIZE), EDNS_MAX_SIZE);
  const reply = (query: Query, rcode: Parameters<typeof encodeResponse>[0]["rcode"]) => encodeResponse({ query, rcode, maxSize });
  if (q.opcode !== 0) return reply({ ...q, question: undefined }, "NOTIMP");
  if (q.questions !== 1 || !q.question) return reply({ ...q, question: undefined }, "FORMERR");
  if (q.question.classCode !== 1) return reply(q, "REFUSED");
  if (!ready) return reply(q, "SERVFAIL");
  try {
    const answer = resolver.resolve({ name: q.question.name, type: q.question.type });
    return encodeResponse({ query: q, rcode: answer.rcode, answer, maxSize });
  } catch {
    return reply(q, "SERVFAIL");
  }
}

/** The clusterset DNS server: UDP and TCP on one port, answers from a Resolver. */
export class DnsServer {
  readonly #o: DnsServerOptions;
  readonly #udp: Socket;
  readonly #tcp: Server;
  readonly #conns = new Set<TcpSocket>();

  private constructor(o: DnsServerOptions) {
    this.#o = o;
    this.#udp = createSocket("udp4");
    this.#udp.on("message", (msg, rinfo) => {
      const out = this.#answer(msg, "udp");
      if (out) this.#udp.send(out, rinfo.port, rinfo.address);
    });
    this.#udp.on("error", (err) => o.log.warn({ err: err.message }, "DNS UDP socket error"));
    this.#tcp = createServer((sock) => this.#serveTcp(sock));
  }

  static async start(o: DnsServerOptions): Promise<DnsServer> {
    const s = new DnsServer(o);
    const host = o.host ?? "0.0.0.0";
    await new Promise<void>((resolve, reject) => {
      s.#udp.once("error", reject);
      s.#udp.bind(o.port, host, () => resolve());
    });
    const port = s.#udp.address().port;
    await new Promise<void>((resolve, reject) => {
      s.#tcp.once("error", reject);
      s.#tcp.listen(port, host, () => resolve());
    }).catch((err: unknown) => {
      s.#udp.close();
      throw err;
    });
    return s;
  }

  #answer(msg: Buffer, transport: "udp" | "tcp"): Buffer | undefined {
    const out = answerMessage(this.#o.resolver, msg, transport, this.#o.ready?.() ?? true);
    if (out) this.#o.onAnswer?.((out[3] ?? 0) & 0xf);
    return out;
  }

  get port(): number {
    return this.#udp.address().port;
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
    for (const c of this.#conns) c.destroy();
    await Promise.all([new Promise<void>((r) => this.#udp.close(() => r())), new Promise<void>((r) => this.#tcp.close(() => r()))]);
  }
}
