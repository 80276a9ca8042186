import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { WireRecord } from "@causeway/api";
import { silentLogger } from "@causeway/common";
import { awaitSuccessor } from "./handover.ts";

const record = (clusterId: string, hostname: string, createRevision: number): WireRecord => ({
  kind: "endpoint",
  clusterId,
  name: `cable-${hostname}`,
  createRevision,
  revision: createRevision,
  valueJson: JSON.stringify({
    cluster_id: clusterId,
    cable_name: `cable-${hostname}`,
    hostname,
    subnets: ["10.1.0.0/16"],
    private_ip: "198.18.1.10",
    backend: "vxlan",
  }),
});

describe("graceful hand-over", () => {
  const timings = { waitMs: 400, pollMs: 20, settleMs: 50 };

  it("returns once the successor's endpoint is the cluster's newest, after letting it settle", async () => {
    const records = [record("c1", "n0", 5), record("c2", "n0", 6)];
    const t0 = performance.now();
    setTimeout(() => records.push(record("c1", "n1", 9)), 60);
    const who = await awaitSuccessor({ broker: { list: async () => ({ records }) }, clusterId: "c1", node: "n0", log: silentLogger(), timings });
    const took = performance.now() - t0;
    assert.equal(who, "n1");
    // Timers run on a millisecond clock: one may fire up to 1 ms before performance.now() says its delay passed (a CI run saw 109.93 ms).
    assert.ok(took >= 60 + 50 - 1 && took < 400, `took ${took} ms`);
  });

  it("gives up after waitMs when no successor appears or the broker does not answer", async () => {
    for (const list of [async () => ({ records: [record("c1", "n0", 5)] }), async () => Promise.reject(new Error("unavailable"))]) {
      const t0 = performance.now();
      assert.equal(await awaitSuccessor({ broker: { list }, clusterId: "c1", node: "n0", log: silentLogger(), timings }), "");
      assert.ok(performance.now() - t0 < 400 + 100);
    }
  });
});
