import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { FakePingNetwork } from "./fake.ts";
import { icmpPinger, parsePingLine, type PingEvent, type PingerFactory } from "./pinger.ts";
import { goDuration, RttStats } from "./stats.ts";

describe("ping output", () => {
  it("reads replies, unanswered probes and ICMP errors; ignores the banner", () => {
    assert.deepEqual(parsePingLine("64 bytes from 10.2.0.1: icmp_seq=3 ttl=63 time=0.447 ms"), { kind: "reply", rttMs: 0.447 });
    assert.deepEqual(parsePingLine("no answer yet for icmp_seq=6"), { kind: "lost" });
    assert.deepEqual(parsePingLine("From 198.18.1.254 icmp_seq=2 Destination Host Unreachable"), { kind: "lost" });
    assert.equal(parsePingLine("PING 10.2.0.1 (10.2.0.1) 56(84) bytes of data."), undefined);
  });
});

describe("RTT statistics", () => {
  it("prints durations as Go does", () => {
    assert.equal(goDuration(447_358), "447.358µs");
    assert.equal(goDuration(5_804_370), "5.80437ms");
    assert.equal(goDuration(999), "999ns");
    assert.equal(goDuration(0), "0s");
    assert.equal(goDuration(1_500_000_000), "1.5s");
    assert.equal(goDuration(123_500_000_000), "2m3.5s");
    assert.equal(goDuration(3_600_000_000_000), "1h0m0s");
  });

  it("keeps last, min, mean, max and standard deviation", () => {
    const s = new RttStats();
    assert.equal(s.latency(), undefined);
    for (const ms of [2, 4, 4, 4, 5, 5, 7, 9]) s.add(ms);
    assert.deepEqual(s.summary(), { last: 9, min: 2, average: 5, max: 9, stdDev: 2 });
    assert.deepEqual(s.latency(), { last: "9ms", min: "2ms", average: "5ms", max: "9ms", stdDev: "2ms" });
  });

  it("restarts its window after 1000 samples, keeping the last two", () => {
    const s = new RttStats();
    for (let i = 0; i < 1000; i++) s.add(1);
    s.add(10);
    assert.equal(s.count, 3);
    assert.equal(s.summary()?.max, 10);
  });
});

interface PingWorld {
  readonly pinger: PingerFactory;
  /** Answers probes. */
  readonly reachable: string;
  /** Has no route. */
  readonly unroutable: string;
  /** An address of ours probes may leave from. */
  readonly source: string;
  /** Makes `reachable` drop probes (true) or answer again (false). */
  drop(on: boolean): Promise<void>;
  close(): Promise<void>;
}

const INTERVAL = 100;

/** Collects a pinger's events over a time. */
async function collect(p: PingerFactory, target: string, ms: number, during?: () => Promise<void>): Promise<PingEvent[]> {
  const events: PingEvent[] = [];
  const pinger = p(target, INTERVAL, (e) => events.push(e));
  try {
    await during?.();
    await new Promise((r) => setTimeout(r, ms));
  } finally {
    pinger.stop();
  }
  return events;
}

/** What every pinger does, the fake as the real one against the kernel. */
function pingerContract(name: string, setup: () => Promise<PingWorld>): void {
  describe(`pinger contract: ${name}`, () => {
    let w: PingWorld;
    before(async () => {
      w = await setup();
    });
    after(async () => w?.close());

    it("a reachable target answers every probe with its round trip", async () => {
      const events = await collect(w.pinger, w.reachable, 10 * INTERVAL);
      const replies = events.filter((e) => e.kind === "reply");
      assert.ok(replies.length >= 5, `replies: ${JSON.stringify(events)}`);
      assert.ok(replies.every((e) => e.rttMs >= 0 && e.rttMs < INTERVAL));
      assert.equal(events.filter((e) => e.kind !== "reply").length, 0);
    });

    it("a target dropping probes loses one probe an interval, and answers again when it stops dropping", async () => {
      const events = await collect(w.pinger, w.reachable, 8 * INTERVAL, () => w.drop(true));
      const lost = events.filter((e) => e.kind === "lost").length;
      assert.ok(lost >= 4 && lost <= 9, `lost ${lost}: ${JSON.stringify(events)}`);
      await w.drop(false);
      const again = await collect(w.pinger, w.reachable, 5 * INTERVAL);
      assert.ok(
        again.some((e) => e.kind === "reply"),
        JSON.stringify(again),
      );
    });

    it("a target without a route fails the pinger once, saying so", async () => {
      const events = await collect(w.pinger, w.unroutable, 5 * INTERVAL);
      assert.equal(events.length, 1, JSON.stringify(events));
      const [e] = events;
      assert.equal(e?.kind, "failed");
      assert.match(e?.kind === "failed" ? e.message : "", /unreachable/i);
    });

    it("probes from a given source address", async () => {
      const events: PingEvent[] = [];
      const p = w.pinger(w.reachable, INTERVAL, (e) => events.push(e), w.source);
      await new Promise((r) => setTimeout(r, 5 * INTERVAL));
      p.stop();
      assert.ok(
        events.some((e) => e.kind === "reply"),
        JSON.stringify(events),
      );
    });

    it("reports nothing once stopped", async () => {
      const events: PingEvent[] = [];
      const p = w.pinger(w.reachable, INTERVAL, (e) => events.push(e));
      p.stop();
      await new Promise((r) => setTimeout(r, 3 * INTERVAL));
      assert.deepEqual(events, []);
    });
  });
}

pingerContract("fake", async () => {
  const net = new FakePingNetwork();
  net.set("10.2.0.1", { kind: "up", rttMs: 1 });
  return {
    pinger: net.pinger,
    reachable: "10.2.0.1",
    unroutable: "10.9.0.1",
    source: "10.1.0.1",
    async drop(on) {
      net.set("10.2.0.1", on ? { kind: "drop" } : { kind: "up", rttMs: 1 });
    },
    async close() {
      assert.equal(net.running, 0, "every fake pinger was stopped");
    },
  };
});

const root = process.getuid?.() === 0;
pingerContract(root ? "ping in a network namespace" : "ping (skipped: needs root)", async () => {
  if (!root) throw new Error("the real pinger contract needs root");
  const [a, b] = [`cwtpa${process.pid}`, `cwtpb${process.pid}`];
  const sh = (...args: string[]) => execFileSync(args[0] ?? "", args.slice(1), { stdio: ["ignore", "ignore", "pipe"] });
  const close = async () => {
    for (const ns of [a, b]) sh("sh", "-c", `ip netns del ${ns} 2>/dev/null || true`);
  };
  try {
    sh("ip", "netns", "add", a);
    sh("ip", "netns", "add", b);
    sh("ip", "link", "add", "cwtp0", "netns", a, "type", "veth", "peer", "name", "cwtp1", "netns", b);
    sh("ip", "-n", a, "addr", "add", "198.18.250.1/24", "dev", "cwtp0");
    sh("ip", "-n", b, "addr", "add", "198.18.250.2/24", "dev", "cwtp1");
    sh("ip", "-n", a, "link", "set", "cwtp0", "up");
    sh("ip", "-n", b, "link", "set", "cwtp1", "up");
  } catch (err) {
    await close();
    throw err;
  }
  return {
    pinger: icmpPinger({ netns: a }),
    reachable: "198.18.250.2",
    unroutable: "198.19.250.9",
    source: "198.18.250.1",
    async drop(on) {
      sh("ip", "netns", "exec", b, "iptables", on ? "-A" : "-D", "INPUT", "-p", "icmp", "-j", "DROP");
    },
    close,
  };
});
