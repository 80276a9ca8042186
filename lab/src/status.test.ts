import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { missingPairs } from "./status.ts";

const conn = (cluster: string, status = "connected") => ({ endpoint: { cluster_id: cluster }, status });

describe("lab: active-active gateway pairs", () => {
  it("every running gateway must be active with a connected cable to each running gateway of every other cluster", () => {
    const gateways = new Map([
      ["c1", ["n0", "n1"]],
      ["c2", ["n0", "n1"]],
    ]);
    const full = new Map([
      [
        "c1",
        new Map([
          ["n0", [conn("c2"), conn("c2")]],
          ["n1", [conn("c2"), conn("c2")]],
        ]),
      ],
      [
        "c2",
        new Map([
          ["n0", [conn("c1"), conn("c1")]],
          ["n1", [conn("c1"), conn("c1")]],
        ]),
      ],
    ]);
    assert.deepEqual(missingPairs(gateways, full), []);
    const partial = new Map([
      ["c1", new Map([["n0", [conn("c2"), conn("c2", "connecting")]]])],
      ["c2", full.get("c2") ?? new Map()],
    ]);
    assert.deepEqual(missingPairs(gateways, partial), ["c1/n0→c2 (1 of 2 gateways connected)", "c1/n1 not active (or no Endpoint)"]);
  });
});
