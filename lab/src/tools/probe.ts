#!/usr/bin/env node
/**
 * The lab's failover probe: sends a numbered UDP datagram to --host:--port every --interval ms
 * until SIGTERM (or --seconds), counting the echoes, and prints one JSON line: sent, answered,
 * and the outages — runs of unanswered probes, each as the time between the last answered probe
 * before it and the first answered after it (what a client would notice). A probe is answered
 * when its echo arrives within --timeout ms. The first answer is announced at once with a line
 * {"answering": true}, so a test can wait for a working path before it injects a fault.
 * --src-port binds the probe's own port, so its flow (and the path the kernel hashes it to) is known.
 */
import { createSocket } from "node:dgram";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    host: { type: "string" },
    port: { type: "string", default: "8080" },
    interval: { type: "string", default: "20" },
    seconds: { type: "string", default: "600" },
    timeout: { type: "string", default: "1000" },
    "src-port": { type: "string" },
  },
});
const interval = Number(values.interval);
const host = values.host ?? "";
const port = Number(values.port);
const sentAt: number[] = [];
const answered: boolean[] = [];
const sock = createSocket("udp4");
sock.on("message", (msg) => {
  const seq = msg.readUInt32BE(0);
  const at = sentAt[seq];
  if (at !== undefined && performance.now() - at <= Number(values.timeout)) {
    if (!answered.includes(true)) console.log(JSON.stringify({ answering: true }));
    answered[seq] = true;
  }
});
sock.on("error", () => undefined);
if (values["src-port"]) sock.bind(Number(values["src-port"]));
const buf = Buffer.alloc(16);
const timer = setInterval(() => {
  const seq = sentAt.length;
  sentAt.push(performance.now());
  answered.push(false);
  buf.writeUInt32BE(seq, 0);
  sock.send(buf, port, host, () => undefined);
}, interval);

function report(): void {
  clearInterval(timer);
  // Probes still within their timeout are not judged.
  const judged = sentAt.findLastIndex((t) => performance.now() - t > Number(values.timeout)) + 1;
  const outages: { fromMs: number; ms: number; lost: number }[] = [];
  let lastOk = -1;
  for (let i = 0; i < judged; i++) {
    if (!answered[i]) continue;
    if (i - lastOk > 1 && lastOk >= 0) {
      outages.push({ fromMs: Math.round(sentAt[lastOk] ?? 0), ms: Math.round((sentAt[i] ?? 0) - (sentAt[lastOk] ?? 0)), lost: i - lastOk - 1 });
    }
    lastOk = i;
  }
  const firstOk = answered.indexOf(true);
  const tail = lastOk >= 0 && lastOk < judged - 1 ? judged - 1 - lastOk : 0;
  console.log(
    JSON.stringify({
      sent: judged,
      answered: answered.slice(0, judged).filter(Boolean).length,
      neverAnswered: firstOk < 0,
      lostAtStart: Math.max(0, firstOk),
      lostAtEnd: tail,
      outages,
      maxOutageMs: Math.max(0, ...outages.map((o) => o.ms)),
      // Wall-clock time (ms since the epoch) that fromMs counts from, to line outages up with logs.
      originMs: Math.round(performance.timeOrigin),
    }),
  );
  process.exit(0);
}
process.once("SIGTERM", () => setTimeout(report, Number(values.timeout)));
setTimeout(report, Number(values.seconds) * 1000);
