import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { silentLogger } from "@causeway/common";
import { healthCheckOf, HealthChecker, mergeHealth } from "./checker.ts";
import { FakePingNetwork } from "./fake.ts";

const log = silentLogger();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until `f` holds, polling every 10 ms, for at most `ms`. */
async function until(f: () => boolean, ms: number): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < ms / 10 && !f(); i++) await sleep(10);
  assert.ok(f(), `condition not met within ${ms} ms`);
  return performance.now() - t0;
}

describe("health checker", () => {
  it("refuses an interval under 100 ms, zero or negative, and a loss count below 1", () => {
    for (const healthCheckInterval of [0, -1, 0.05, Number.NaN]) {
      assert.throws(
        () => healthCheckOf({ healthCheckInterval, healthCheckMaxPacketLossCount: 5 }),
        /--health-check-interval must be a number of seconds, at least 0.1/,
      );
    }
    assert.throws(
      () => healthCheckOf({ healthCheckInterval: 1, healthCheckMaxPacketLossCount: 0 }),
      /--health-check-max-packet-loss-count must be a whole number ≥ 1/,
    );
    assert.throws(() => new HealthChecker({ intervalMs: 0, maxPacketLoss: 5, log }), /at least 0.1/);
  });

  it("turns connected on the first reply, error after the loss threshold, connected again on a reply", async () => {
    const net = new FakePingNetwork();
    net.set("10.2.0.1", { kind: "up", rttMs: 2 });
    const hc = new HealthChecker({ intervalMs: 100, maxPacketLoss: 3, log, pinger: net.pinger });
    let changes = 0;
    hc.start(() => changes++);
    try {
      hc.track([{ clusterId: "c2", ip: "10.2.0.1" }]);
      assert.equal(hc.state("c2")?.status, "connecting");
      await until(() => hc.state("c2")?.status === "connected", 500);
      assert.ok((hc.state("c2")?.establishedAtMs ?? 0) > 0);
      assert.equal(changes, 1);
      assert.equal(hc.state("c2")?.rtt.count, 0, "the reply that establishes a connection is not a steady-state sample");
      await until(() => (hc.state("c2")?.rtt.count ?? 0) >= 2, 1000);
      net.set("10.2.0.1", { kind: "drop" });
      // Three lost in a row: each known one interval after it left, so within (3 + 1) intervals.
      const took = await until(() => hc.state("c2")?.status === "error", 1000);
      assert.ok(took <= 4 * 100 + 100, `error after ${took} ms`);
      assert.match(hc.state("c2")?.message ?? "", /no reply from the remote endpoint's health-check IP 10.2.0.1 to the last 3 probes/);
      net.set("10.2.0.1", { kind: "up", rttMs: 1 });
      await until(() => hc.state("c2")?.status === "connected", 500);
      assert.equal(changes, 3);
      const m = mergeHealth({ status: "connecting", statusMessage: "waiting for the first handshake" }, hc.state("c2"));
      assert.equal(m.status, "connected");
      assert.ok(m.latencyRTT?.average.endsWith("ms"));
    } finally {
      hc.stop();
    }
    assert.equal(net.running, 0);
  });

  it("an unroutable target is an error naming the cause, retried until it is routable", async () => {
    const net = new FakePingNetwork();
    const hc = new HealthChecker({ intervalMs: 100, maxPacketLoss: 3, log, pinger: net.pinger });
    hc.start(() => undefined);
    try {
      hc.track([{ clusterId: "c3", ip: "10.3.0.1" }]);
      await until(() => hc.state("c3")?.status === "error", 500);
      assert.match(hc.state("c3")?.message ?? "", /cannot probe the remote endpoint's health-check IP 10.3.0.1: ping: connect: Network is unreachable/);
      net.set("10.3.0.1", { kind: "up", rttMs: 1 });
      await until(() => hc.state("c3")?.status === "connected", 2000);
    } finally {
      hc.stop();
    }
  });

  it("a probe stream in error is replaced every 5 s: state stuck to the old stream does not keep a healthy connection in error", async () => {
    const net = new FakePingNetwork();
    net.set("10.2.0.1", { kind: "up", rttMs: 1 });
    const hc = new HealthChecker({ intervalMs: 100, maxPacketLoss: 3, log, pinger: net.pinger });
    hc.start(() => undefined);
    try {
      hc.track([{ clusterId: "c2", ip: "10.2.0.1" }]);
      await until(() => hc.state("c2")?.status === "connected", 500);
      net.set("10.2.0.1", { kind: "stuck", rttMs: 1 });
      await until(() => hc.state("c2")?.status === "error", 1000);
      const took = await until(() => hc.state("c2")?.status === "connected", 7000);
      assert.ok(took >= 4000, `recovered after ${Math.round(took)} ms, by the restart`);
      assert.equal(net.running, 1);
    } finally {
      hc.stop();
    }
  });

  it("follows the targets: new ones start connecting, gone ones stop", async () => {
    const net = new FakePingNetwork();
    net.set("10.2.0.1", { kind: "up", rttMs: 1 });
    net.set("10.2.0.9", { kind: "up", rttMs: 1 });
    const hc = new HealthChecker({ intervalMs: 100, maxPacketLoss: 3, log, pinger: net.pinger });
    hc.start(() => undefined);
    after(() => hc.stop());
    hc.track([
      { clusterId: "c2", ip: "10.2.0.1" },
      { clusterId: "c4", ip: "" },
    ]);
    assert.equal(hc.state("c4"), undefined, "no health-check IP: not probed");
    await until(() => hc.state("c2")?.status === "connected", 500);
    // The remote cluster's gateway failed over: a new endpoint, a new health-check IP, fresh statistics.
    hc.track([{ clusterId: "c2", ip: "10.2.0.9" }]);
    assert.equal(hc.state("c2")?.status, "connecting");
    assert.equal(hc.state("c2")?.target, "10.2.0.9");
    assert.equal(net.running, 1);
    hc.track([]);
    assert.equal(hc.state("c2"), undefined);
    assert.equal(net.running, 0);
    hc.stop();
  });

  it("merges with the driver: probes decide once they have a verdict", () => {
    const driver = { status: "connected" as const, statusMessage: "handshake 3 s ago" };
    assert.deepEqual(mergeHealth(driver, undefined), driver);
  });
});
