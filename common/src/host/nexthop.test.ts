import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { nexthopContract } from "./nexthop-contract.ts";
import { FakeNexthops, parseNexthops, planNexthops, renderNexthopOp } from "./nexthop.ts";

describe("next hops (pure)", () => {
  it("parses ip -json nexthop show: members and resilient groups; other groups and blackholes left out", () => {
    const s = parseNexthops(
      JSON.stringify([
        { id: 1000, group: [{ id: 1001 }, { id: 1002 }], type: "resilient", resilient_args: { buckets: 64, idle_timer: 60 }, flags: [] },
        { id: 1001, gateway: "10.9.0.2", dev: "nha", scope: "link", flags: [] },
        { id: 5, group: [{ id: 1001 }], flags: [] },
        { id: 6, blackhole: true, flags: [] },
      ]),
    );
    assert.deepEqual(s, { members: [{ id: 1001, via: "10.9.0.2", dev: "nha" }], groups: [{ id: 1000, members: [1001, 1002], buckets: 64, idleTimerS: 60 }] });
    assert.deepEqual(parseNexthops(""), { members: [], groups: [] });
  });

  it("plans members before groups and removals groups first; renders ip -batch lines", () => {
    const owned = { from: 1000, to: 1099 };
    const observed = { members: [{ id: 1002, via: "10.9.0.3", dev: "nha" }], groups: [{ id: 1010, members: [1002], buckets: 32, idleTimerS: 60 }] };
    const desired = { members: [{ id: 1001, via: "10.9.0.2", dev: "nha" }], groups: [{ id: 1000, members: [1001], buckets: 32, idleTimerS: 60 }] };
    assert.deepEqual(planNexthops(desired, observed, owned).map(renderNexthopOp), [
      "nexthop replace id 1001 via 10.9.0.2 dev nha",
      "nexthop replace id 1000 group 1001 type resilient buckets 32 idle_timer 60",
      "nexthop del id 1010",
      "nexthop del id 1002",
    ]);
  });
});

nexthopContract("fake", async () => {
  const nh = new FakeNexthops(["cwnh0"]);
  return {
    nh,
    dev: "cwnh0",
    foreign: async (id) => void nh.members.set(id, { id, via: "10.9.0.9", dev: "cwnh0" }),
    close: async () => {},
  };
});
