import dnsPacket from "dns-packet";
import * as dnsTypes from "dns-packet/types.js";
import type { Answer, Rcode, Rr } from "./resolver.ts";

export const TYPE = { A: 1, NS: 2, SOA: 6, PTR: 12, TXT: 16, AAAA: 28, SRV: 33, OPT: 41 } as const;
const TYPE_NAME = new Map<number, string>(Object.entries(TYPE).map(([k, v]) => [v, k]));
const RCODE: Record<Rcode, number> = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 };
const CLASS_IN = 1;
/** The largest UDP answer without EDNS (RFC 1035), and the most we advertise or use with it. */
export const UDP_DEFAULT_SIZE = 512;
export const EDNS_MAX_SIZE = 1232;

/** A query as the server needs it. */
export interface Query {
  readonly id: number;
  readonly rd: boolean;
  readonly opcode: number;
  readonly question?: { readonly name: string; readonly type: string; readonly typeCode: number; readonly classCode: number };
  readonly questions: number;
  /** EDNS: the requester's UDP payload size (undefined without OPT). */
  readonly udpSize?: number;
}

/** Decodes a request (dns-packet); undefined when it is not a readable query (too short, or a response). Throws on garbage past a readable header. */
export function decodeQuery(buf: Buffer): Query | "unreadable" | undefined {
  if (buf.length < 12) return undefined;
  const id = buf.readUInt16BE(0);
  const flags = buf.readUInt16BE(2);
  if (flags & 0x8000) return undefined; // a response: never answered (no loops)
  const opcode = (flags >> 11) & 0xf;
  const rd = (flags & 0x0100) !== 0;
  let p: dnsPacket.DecodedPacket;
  try {
    p = dnsPacket.decode(buf);
  } catch {
    return "unreadable";
  }
  const q = p.questions?.[0];
  const opt = (p.additionals ?? []).find((r) => r.type === "OPT") as { udpPayloadSize?: number } | undefined;
  const base = { id, rd, opcode, questions: p.questions?.length ?? 0, ...(opt ? { udpSize: opt.udpPayloadSize ?? UDP_DEFAULT_SIZE } : {}) };
  if (!q) return base;
  const typeCode = dnsTypes.toType(q.type);
  if (!typeCode) return base;
  const classCode = q.class === "IN" || q.class === undefined ? CLASS_IN : -1;
  return { ...base, question: { name: q.name, type: q.type, typeCode, classCode } };
}

/** Writes DNS messages with name compression (RFC 1035 §4.1.4); SRV targets are written whole (RFC 2782). */
class Writer {
  #buf = Buffer.alloc(512);
  #len = 0;
  readonly #names = new Map<string, number>();

  #room(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    const next = Buffer.alloc(Math.max(this.#buf.length * 2, this.#len + n));
    this.#buf.copy(next, 0, 0, this.#len);
    this.#buf = next;
  }

  u8(v: number): void {
    this.#room(1);
    this.#buf.writeUInt8(v, this.#len++);
  }
  u16(v: number): void {
    this.#room(2);
    this.#buf.writeUInt16BE(v, this.#len);
    this.#len += 2;
  }
  u32(v: number): void {
    this.#room(4);
    this.#buf.writeUInt32BE(v >>> 0, this.#len);
    this.#len += 4;
  }
  bytes(b: Buffer): void {
    this.#room(b.length);
    b.copy(this.#buf, this.#len);
    this.#len += b.length;
  }

  get length(): number {
    return this.#len;
  }

  /** A domain name; `compress` reuses (and offers) suffixes already written. */
  name(name: string, compress = true): void {
    const labels = name.replace(/\.$/, "").split(".").filter(Boolean);
    for (let i = 0; i < labels.length; i++) {
      const suffix = labels.slice(i).join(".").toLowerCase();
      const at = compress ? this.#names.get(suffix) : undefined;
      if (at !== undefined) {
        this.u16(0xc000 | at);
        return;
      }
      if (compress && this.#len < 0x3fff) this.#names.set(suffix, this.#len);
      const label = Buffer.from(labels[i] ?? "", "utf8");
      this.u8(label.length);
      this.bytes(label);
    }
    this.u8(0);
  }

  /** rdata with its length written before it. */
  rdata(write: () => void): void {
    const at = this.#len;
    this.u16(0);
    write();
    this.#buf.writeUInt16BE(this.#len - at - 2, at);
  }

  done(): Buffer {
    return Buffer.from(this.#buf.subarray(0, this.#len));
  }
}

function writeRr(w: Writer, rr: Rr): void {
  w.name(rr.name);
  w.u16(TYPE[rr.type]);
  w.u16(CLASS_IN);
  w.u32(rr.ttl);
  w.rdata(() => {
    switch (rr.type) {
      case "A":
        for (const o of rr.data.split(".")) w.u8(Number(o));
        break;
      case "AAAA":
        w.bytes(ipv6Bytes(rr.data));
        break;
      case "PTR":
        w.name(rr.data);
        break;
      case "TXT":
        for (const s of rr.data) {
          const b = Buffer.from(s, "utf8").subarray(0, 255);
          w.u8(b.length);
          w.bytes(b);
        }
        break;
      case "SRV":
        w.u16(rr.data.priority);
        w.u16(rr.data.weight);
        w.u16(rr.data.port);
        w.name(rr.data.target, false);
        break;
      case "SOA":
        w.name(rr.data.mname);
        w.name(rr.data.rname);
        for (const v of [rr.data.serial, rr.data.refresh, rr.data.retry, rr.data.expire, rr.data.minimum]) w.u32(v);
        break;
    }
  });
}

function ipv6Bytes(ip: string): Buffer {
  const [head = "", tail = ""] = ip.split("::");
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const groups = [...h, ...Array<string>(8 - h.length - t.length).fill("0"), ...t];
  const b = Buffer.alloc(16);
  groups.forEach((g, i) => b.writeUInt16BE(Number.parseInt(g || "0", 16), i * 2));
  return b;
}

export interface ResponseInput {
  readonly query: Query;
  readonly rcode: Rcode;
  readonly answer?: Answer;
  /** Largest message allowed (UDP: 512, or the EDNS size capped; TCP: 65535). */
  readonly maxSize: number;
}

/** Encodes a response; when it does not fit `maxSize`, the answer is dropped and TC set (the client retries over TCP). */
export function encodeResponse(r: ResponseInput): Buffer {
  const full = write(r, false);
  return full.length <= r.maxSize ? full : write(r, true);
}

/** The header's flags word: QR, the query's opcode and RD, AA, TC, the rcode. */
function flagsOf(query: Query, rcode: Rcode, authoritative: boolean, truncated: boolean): number {
  return 0x8000 | ((query.opcode & 0xf) << 11) | (authoritative ? 0x0400 : 0) | (truncated ? 0x0200 : 0) | (query.rd ? 0x0100 : 0) | RCODE[rcode];
}

/** Our EDNS OPT record: the UDP size we accept, no options. */
function writeOpt(w: Writer): void {
  w.u8(0); // root
  w.u16(TYPE.OPT);
  w.u16(EDNS_MAX_SIZE);
  w.u32(0);
  w.u16(0);
}

function writeQuestion(w: Writer, q: NonNullable<Query["question"]>): void {
  w.name(q.name);
  w.u16(q.typeCode);
  w.u16(q.classCode < 0 ? CLASS_IN : q.classCode);
}

function write(r: ResponseInput, truncated: boolean): Buffer {
  const { query, rcode, answer } = r;
  const w = new Writer();
  const answers = truncated ? [] : (answer?.answers ?? []);
  const authority = truncated ? [] : (answer?.authority ?? []);
  const edns = query.udpSize !== undefined;
  w.u16(query.id);
  w.u16(flagsOf(query, rcode, answer?.authoritative ?? false, truncated));
  for (const n of [query.question ? 1 : 0, answers.length, authority.length, edns ? 1 : 0]) w.u16(n);
  if (query.question) writeQuestion(w, query.question);
  for (const rr of [...answers, ...authority]) writeRr(w, rr);
  if (edns) writeOpt(w);
  return w.done();
}

/** The record type name of a code ("TYPE65280" for unknown ones), for logs and metrics. */
export function typeName(code: number): string {
  return TYPE_NAME.get(code) ?? `TYPE${code}`;
}
