import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { UnavailableError } from "@causeway/api";
import { BrokerLeaseElector, checkLeaseTimings, type LeaseClient, type Role, silentLogger, STANDALONE_LEASE } from "@causeway/common";
import { BrokerCore, MemoryStore, type Principal } from "../index.ts";

/** The standalone gateway election against the real broker core (in-memory store), on a test clock. */
describe("broker lease election (standalone gateways)", () => {
  let now = 1_000_000;
  const core = new BrokerCore(new MemoryStore(), () => now);
  const c1: Principal = { role: "cluster", clusterId: "c1" };

  /** A candidate whose link to the broker can be cut. */
  function candidate(identity: string) {
    const link = { up: true };
    const roles: Role[] = [];
    const call = async <T>(f: () => Promise<T>) => {
      if (!link.up) throw new UnavailableError("broker unreachable");
      return f();
    };
    const client: LeaseClient = {
      acquireLease: (n, h, t) => call(() => core.acquireLease(c1, n, h, t)),
      renewLease: (n, h, t) => call(() => core.renewLease(c1, n, h, t)),
      releaseLease: (n, h) => call(() => core.releaseLease(c1, n, h)),
    };
    const e = new BrokerLeaseElector({
      ...STANDALONE_LEASE,
      client,
      name: "gateway",
      identity,
      log: silentLogger(),
      onRole: (r) => void roles.push(r),
      now: () => now,
    });
    return { e, link, roles };
  }
  const step = async (ms: number, ...cs: { e: BrokerLeaseElector }[]) => {
    now += ms;
    for (const c of cs) await c.e.round();
  };

  it("one leader; a crashed leader's lease is taken after it expires; a graceful stop hands over at once", async () => {
    const a = candidate("n0");
    const b = candidate("n1");
    await step(0, a, b);
    assert.equal(a.e.role, "leader");
    assert.equal(b.e.role, "follower");
    assert.equal(b.e.holder, "n0");
    // a crashes (no more rounds): b waits for expiry, not longer than one lease duration plus a round.
    await step(800, b);
    assert.equal(b.e.role, "follower");
    await step(250, b);
    assert.equal(b.e.role, "leader");
    // a restarts: follower, b keeps leading.
    const a2 = candidate("n0");
    await step(200, b, a2);
    assert.equal(a2.e.role, "follower");
    // Graceful stop of the leader: released, the other leads on its next round.
    await b.e.stop();
    await step(200, a2);
    assert.equal(a2.e.role, "leader");
    await a2.e.stop();
  });

  it("a candidate that withdraws (its underlay link is down) releases the lease and follows; the standby leads on its next round; back, it campaigns again", async () => {
    const a = candidate("n0");
    const b = candidate("n1");
    await step(5000, a, b);
    assert.equal(a.e.role, "leader");
    await a.e.setEligible(false);
    assert.equal(a.e.role, "follower");
    assert.equal(a.roles.at(-1), "follower");
    await step(200, a, b);
    assert.equal(b.e.role, "leader", "released: no wait for expiry");
    assert.equal(a.e.role, "follower");
    await a.e.setEligible(true);
    await b.e.stop();
    await step(200, a);
    assert.equal(a.e.role, "leader");
    await a.e.stop();
  });

  it("partition then heal: the cut-off leader stops leading before anyone may take over, and converges to follower", async () => {
    const a = candidate("n0");
    const b = candidate("n1");
    await step(5000, a, b);
    assert.equal(a.e.role, "leader");
    a.link.up = false;
    await step(200, a, b);
    await step(200, a, b);
    await step(200, a, b);
    assert.equal(a.e.role, "leader", "within the renew deadline it still leads");
    assert.equal(b.e.role, "follower");
    await step(200, a, b); // 800 ms since the last renew > 750 ms deadline; lease not yet expired (1000 ms)
    assert.equal(a.e.role, "unsure");
    assert.equal(b.e.role, "follower");
    await step(250, a, b);
    assert.equal(b.e.role, "leader");
    // Heal: a learns the holder and becomes a follower in one round; never two leaders.
    a.link.up = true;
    await step(200, a, b);
    assert.equal(a.e.role, "follower");
    assert.equal(b.e.role, "leader");
    assert.deepEqual(a.roles, ["leader", "unsure", "follower"]);
    await b.e.stop();
  });

  it("broker outage for everyone: the leader is unsure (data path kept), and leads again when the broker is back", async () => {
    const a = candidate("n0");
    const b = candidate("n1");
    await step(5000, a, b);
    a.link.up = b.link.up = false;
    for (let i = 0; i < 10; i++) await step(200, a, b);
    assert.equal(a.e.role, "unsure");
    assert.equal(b.e.role, "follower");
    a.link.up = b.link.up = true;
    await step(200, a, b);
    assert.equal(a.e.role, "leader");
    assert.equal(b.e.role, "follower");
    await a.e.stop();
  });

  it("refuses timings that cannot work", () => {
    assert.throws(() => checkLeaseTimings({ ...STANDALONE_LEASE, retryPeriodMs: 0 }), /retryPeriodMs must be a positive number/);
    assert.throws(() => checkLeaseTimings({ ...STANDALONE_LEASE, leaseDurationMs: -1 }), /leaseDurationMs must be a positive number/);
    assert.throws(() => checkLeaseTimings({ leaseDurationMs: 1000, renewDeadlineMs: 1000, retryPeriodMs: 100 }), /renew deadline \(1000 ms\) must be shorter/);
    assert.throws(() => checkLeaseTimings({ leaseDurationMs: 1000, renewDeadlineMs: 500, retryPeriodMs: 500 }), /retry period \(500 ms\) must be shorter/);
  });
});
