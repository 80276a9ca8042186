import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { bucketCounts, cableDelta } from "./spread.ts";

describe("lab: cable counters between two readings", () => {
  it("what each gateway carried; a counter that went down (its devices removed and made again) counts from zero", () => {
    const before = { "c1/n0": { rx: 100, tx: 1000 }, "c1/n1": { rx: 5000, tx: 9000 } };
    const after = { "c1/n0": { rx: 150, tx: 1600 }, "c1/n1": { rx: 0, tx: 40 }, "c1/n2": { rx: 7, tx: 9 } };
    assert.deepEqual(cableDelta(before, after), { "c1/n0": { rx: 50, tx: 600 }, "c1/n1": { rx: 0, tx: 40 }, "c1/n2": { rx: 7, tx: 9 } });
  });
});

describe("lab: a resilient next-hop group's buckets", () => {
  it("counted per member next hop; an empty dump counts none", () => {
    const b = (index: number, nhid: number) => ({ id: 15000, bucket: { index, idle_time: 1.3, nhid }, flags: [] });
    assert.deepEqual(
      [...bucketCounts(JSON.stringify([b(0, 15002), b(1, 15001), b(2, 15002), b(3, 15002)]))],
      [
        [15002, 3],
        [15001, 1],
      ],
    );
    assert.equal(bucketCounts("").size, 0);
  });
});
