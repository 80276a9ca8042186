/** The next-hop contract: the same scenario against FakeNexthops and the kernel's. Test code. */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { EMPTY_NEXTHOPS, type NexthopIds, type Nexthops, type NexthopState, reconcileNexthops } from "./nexthop.ts";

export interface NexthopFixture {
  readonly nh: Nexthops;
  /** A device that is up, on 10.9.0.0/24 (next hops 10.9.0.2–.9 are on its link). */
  readonly dev: string;
  /** Makes a next hop outside the owned range (another owner's). */
  foreign(id: number): Promise<void>;
  close(): Promise<void>;
}

const OWNED: NexthopIds = { from: 1000, to: 1099 };

export function nexthopContract(label: string, make: () => Promise<NexthopFixture>, skip?: string): void {
  describe(`next-hop contract: ${label}`, { skip }, () => {
    let f: NexthopFixture;
    const member = (id: number, last: number) => ({ id, via: `10.9.0.${last}`, dev: f.dev });
    const state = (members: [number, number][], groups: { id: number; members: number[]; buckets?: number }[]): NexthopState => ({
      members: members.map(([id, last]) => member(id, last)),
      groups: groups.map((g) => ({ id: g.id, members: g.members, buckets: g.buckets ?? 32, idleTimerS: 60 })),
    });
    const sorted = (s: NexthopState) => ({
      members: [...s.members].sort((a, b) => a.id - b.id),
      groups: [...s.groups].sort((a, b) => a.id - b.id).map((g) => ({ ...g, members: [...g.members].sort() })),
    });
    const mine = async () => {
      const s = await f.nh.observe();
      return sorted({
        members: s.members.filter((m) => m.id >= OWNED.from && m.id <= OWNED.to),
        groups: s.groups.filter((g) => g.id >= OWNED.from && g.id <= OWNED.to),
      });
    };

    before(async () => {
      f = await make();
      await f.foreign(7);
    });
    after(async () => {
      await reconcileNexthops(f.nh, EMPTY_NEXTHOPS, OWNED).catch(() => undefined);
      await f.close();
    });

    it("a resilient group over two members is made; a second reconcile changes nothing", async () => {
      const want = state(
        [
          [1001, 2],
          [1002, 3],
        ],
        [{ id: 1000, members: [1001, 1002] }],
      );
      await reconcileNexthops(f.nh, want, OWNED);
      assert.deepEqual(await mine(), sorted(want));
      assert.deepEqual(await reconcileNexthops(f.nh, want, OWNED), []);
    });

    it("a member gone from the desired state leaves the group with the other; a member's address changes in place", async () => {
      const want = state([[1001, 4]], [{ id: 1000, members: [1001] }]);
      const ops = await reconcileNexthops(f.nh, want, OWNED);
      assert.ok(!ops.some((o) => o.op === "del" && o.id === 1000), "the group is kept (its routes with it)");
      assert.deepEqual(await mine(), sorted(want));
    });

    it("a new idle timer changes the group in place", async () => {
      const want = { ...state([[1001, 4]], []), groups: [{ id: 1000, members: [1001], buckets: 32, idleTimerS: 30 }] };
      const ops = await reconcileNexthops(f.nh, want, OWNED);
      assert.deepEqual(
        ops.map((o) => o.op),
        ["group-replace"],
      );
      assert.deepEqual(await mine(), sorted(want));
    });

    it("a member added joins the group; a new bucket count makes the group again", async () => {
      const more = state(
        [
          [1001, 4],
          [1003, 5],
        ],
        [{ id: 1000, members: [1001, 1003] }],
      );
      await reconcileNexthops(f.nh, more, OWNED);
      assert.deepEqual(await mine(), sorted(more));
      const rebucketed = state(
        [
          [1001, 4],
          [1003, 5],
        ],
        [{ id: 1000, members: [1001, 1003], buckets: 64 }],
      );
      await reconcileNexthops(f.nh, rebucketed, OWNED);
      assert.deepEqual(await mine(), sorted(rebucketed));
    });

    it("a group with no member or an unknown one is refused before anything changes, naming it", async () => {
      const before = await mine();
      await assert.rejects(reconcileNexthops(f.nh, state([], [{ id: 1000, members: [] }]), OWNED), /group 1000 has no member/);
      await assert.rejects(reconcileNexthops(f.nh, state([[1001, 4]], [{ id: 1000, members: [1001, 1009] }]), OWNED), /names member 1009/);
      await assert.rejects(reconcileNexthops(f.nh, state([[7, 4]], []), OWNED), /id 7 is outside the owned range 1000-1099/);
      assert.deepEqual(await mine(), before);
    });

    it("nothing desired: every owned next hop goes, another owner's stays", async () => {
      await reconcileNexthops(f.nh, EMPTY_NEXTHOPS, OWNED);
      assert.deepEqual(await mine(), { members: [], groups: [] });
      assert.ok(
        (await f.nh.observe()).members.some((m) => m.id === 7),
        "the foreign next hop 7 is left alone",
      );
    });
  });
}
