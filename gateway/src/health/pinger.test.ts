import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FakePingNetwork } from "./fake.ts";
import { pingerContract } from "./pinger-contract.ts";
import { parsePingLine } from "./pinger.ts";
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

pingerContract("fake", async () => {
  const net = new FakePingNetwork();
  net.set("10.2.0.1", { kind: "up", rttMs: 1 });
  return {
    pinger: net.pinger,
    reachable: "10.2.0.1",
    unroutable: "10.9.0.1",
    source: "10.1.0.1",
    probesFrom: async (from) => net.probesFrom(from),
    async drop(on) {
      net.set("10.2.0.1", on ? { kind: "drop" } : { kind: "up", rttMs: 1 });
    },
    async close() {
      assert.equal(net.running, 0, "every fake pinger was stopped");
    },
  };
});
