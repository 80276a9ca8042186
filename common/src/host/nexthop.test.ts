import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { nexthopContract } from "./nexthop-contract.ts";
import { FakeNexthops, parseNexthops, planNexthops, renderNexthopOp } from "./nexthop.ts";
import { applyOps, plan } from "./plan.ts";

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
    foreign: async (id) => void (nh.state = { ...nh.state, members: [...nh.state.members, { id, via: "10.9.0.9", dev: "cwnh0" }] }),
    close: async () => {},
  };
});

describe("next hops in the net plan", () => {
  const owned = { links: ["vx-t"], tables: [150], rulePriorities: [], nexthopIds: { from: 1500, to: 1599 } };
  const link = { name: "vx-t", vni: 100, port: 4800, local: "198.18.5.1", mtu: 1450, addr: "240.18.5.1/8" };
  const members = [{ id: 1501, via: "240.18.5.9", dev: "vx-t", onlink: true }];
  const routes = [{ table: 150, dst: "10.2.0.0/16", dev: "vx-t", nhid: 1500 }];
  const state = (buckets: number) => ({
    links: [link],
    fdb: [],
    rules: [],
    routes,
    nexthops: { members, groups: [{ id: 1500, members: [1501], buckets, idleTimerS: 60 }] },
  });
  const observed = applyOps({ links: [], fdb: [], rules: [], routes: [] }, plan(state(32), { links: [], fdb: [], rules: [], routes: [] }, owned));

  it("a group made again for its new bucket count gets its routes back (the kernel deleted them with it)", () => {
    const ops = plan(state(64), observed, owned);
    assert.deepEqual(
      ops.map((o) => (o.op === "nexthop" ? renderNexthopOp(o.nh) : o.op)),
      ["nexthop del id 1500", "nexthop replace id 1500 group 1501 type resilient buckets 64 idle_timer 60", "route-replace"],
    );
    assert.deepEqual(plan(state(64), applyOps(observed, ops), owned), []);
  });

  it("a link made again loses its next hops and their routes: all are made again after it", () => {
    const moved = { ...state(32), links: [{ ...link, local: "198.18.5.2" }] };
    const ops = plan(moved, observed, owned);
    assert.deepEqual(
      ops.map((o) => o.op),
      ["link-del", "link-add", "addr-add", "nexthop", "nexthop", "route-replace"],
    );
    assert.deepEqual(plan(moved, applyOps(observed, ops), owned), []);
  });
});
