import { spawn } from "node:child_process";
import { createInterface } from "node:readline";

/** What a pinger reports: a reply with its round trip, a probe unanswered within one interval, or the pinger itself failing (e.g. no route). */
export type PingEvent = { readonly kind: "reply"; readonly rttMs: number } | { readonly kind: "lost" } | { readonly kind: "failed"; readonly message: string };

/** A running probe stream towards one address; stop() ends it (no event after). */
export interface Pinger {
  stop(): void;
}

/**
 * Starts probing `target` every `intervalMs` from `source` (when given); every outcome goes to
 * `on`. A "failed" event ends the stream.
 */
export type PingerFactory = (target: string, intervalMs: number, on: (e: PingEvent) => void, source?: string) => Pinger;

/** Pure: one line of iputils `ping -n -O` output as an event; undefined for lines that say nothing (the banner). */
export function parsePingLine(line: string): PingEvent | undefined {
  const reply = /^\d+ bytes from .*time=([\d.]+) ms/.exec(line);
  if (reply) return { kind: "reply", rttMs: Number(reply[1]) };
  if (/^no answer yet for icmp_seq=/.test(line)) return { kind: "lost" };
  // ICMP errors back from a router ("Destination Host Unreachable", "Time to live exceeded"): the probe is lost.
  if (/^From \S+ icmp_seq=\d+ /.test(line)) return { kind: "lost" };
  return undefined;
}

/**
 * The real pinger: ICMP echo through iputils `ping` (raw sockets need no addon this way),
 * one long-running process per target. `-O` reports a probe unanswered by the time the next
 * one leaves, so a loss is known one interval after its probe. Intervals under 200 ms need
 * root or CAP_NET_RAW, which the gateway has. `netns` runs it in a named network namespace (tests).
 */
export function icmpPinger(o: { readonly netns?: string } = {}): PingerFactory {
  return (target, intervalMs, on, source) => startPing(target, intervalMs, on, o.netns, source);
}

function startPing(target: string, intervalMs: number, on: (e: PingEvent) => void, netns: string | undefined, source: string | undefined): Pinger {
  let stopped = false;
  // A fixed source: ping otherwise picks one once, from the routes of the moment it starts —
  // started while a cable route is being rewritten, it would keep an address the remote
  // WireGuard peer drops (not in our allowed IPs), and never hear a reply again.
  const args = ["-n", "-O", "-i", String(intervalMs / 1000), ...(source ? ["-I", source] : []), target];
  // `ip netns exec` execs ping: the child is ping itself, and kill() reaches it.
  const child = netns
    ? spawn("ip", ["netns", "exec", netns, "ping", ...args], { stdio: ["ignore", "pipe", "pipe"] })
    : spawn("ping", args, { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (b: Buffer) => {
    stderr += b.toString();
  });
  createInterface({ input: child.stdout }).on("line", (line) => {
    const e = parsePingLine(line);
    if (e && !stopped) on(e);
  });
  const fail = (message: string) => {
    if (stopped) return;
    stopped = true;
    on({ kind: "failed", message });
  };
  child.on("error", (err: NodeJS.ErrnoException) =>
    fail(err.code === "ENOENT" ? "ping is not installed (install iputils-ping)" : `cannot run ping: ${err.message}`),
  );
  child.on("close", (code, signal) => fail(stderr.trim().split("\n").at(-1) || `ping exited (${signal ?? `code ${code}`})`));
  return {
    stop() {
      stopped = true;
      child.kill();
    },
  };
}
