#!/usr/bin/env node
/**
 * The propagation benchmark's watcher, run in a lab namespace: reads names on stdin (one a
 * line, as they are exported), asks --server for each pending name's A record every --interval
 * ms until it answers with an address, and when stdin has closed and nothing is pending (or
 * --timeout ms after it closed) prints {"<name>": <epoch ms it first resolved>, …} as JSON.
 */
import { createSocket } from "node:dgram";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: { server: { type: "string" }, interval: { type: "string", default: "10" }, timeout: { type: "string", default: "30000" } },
});
const server = values.server ?? "";
const interval = Number(values.interval);

/** A plain A query (RD off): header, then the name's labels, type 1, class 1. */
function query(id: number, name: string): Buffer {
  const labels = name.split(".").filter(Boolean);
  const q = Buffer.alloc(12 + labels.reduce((n, l) => n + 1 + l.length, 0) + 1 + 4);
  q.writeUInt16BE(id, 0);
  q.writeUInt16BE(1, 4);
  let o = 12;
  for (const l of labels) {
    q[o++] = l.length;
    o += q.write(l, o, "ascii");
  }
  q[o++] = 0;
  q.writeUInt16BE(1, o);
  q.writeUInt16BE(1, o + 2);
  return q;
}

const pending = new Map<number, string>(); // id → name
const waiting = new Set<string>();
const resolved: Record<string, number> = {};
let nextId = 1;
let closedAt = 0;
const sock = createSocket("udp4");
sock.on("message", (msg) => {
  if (msg.length < 12) return;
  const name = pending.get(msg.readUInt16BE(0));
  if (!name) return;
  pending.delete(msg.readUInt16BE(0));
  const rcode = msg.readUInt16BE(2) & 0xf;
  if (rcode === 0 && msg.readUInt16BE(6) > 0 && waiting.delete(name)) resolved[name] = Date.now();
});
sock.bind(0);

createInterface({ input: process.stdin })
  .on("line", (l) => {
    const name = l.trim();
    if (name && !(name in resolved)) waiting.add(name);
  })
  .on("close", () => (closedAt = Date.now()));

const timer = setInterval(() => {
  if (closedAt && (!waiting.size || Date.now() - closedAt > Number(values.timeout))) {
    clearInterval(timer);
    sock.close();
    console.log(JSON.stringify(resolved));
    return;
  }
  pending.clear(); // unanswered queries are asked again
  for (const name of waiting) {
    const id = nextId;
    nextId = (nextId % 65535) + 1;
    pending.set(id, name);
    sock.send(query(id, name), 53, server);
  }
}, interval);
