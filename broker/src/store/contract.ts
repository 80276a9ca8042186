/**
 * The Store contract: every implementation runs this same suite (memory.test.ts, sqlite.test.ts,
 * and later the NATS backend). It is test code, exported for those files only.
 */
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import { AlreadyExistsError, CompactedError, ConflictError } from "@causeway/api";
import type { Store, StoreEvent } from "./types.ts";

const ep = (clusterId: string, name: string, value = "{}") => ({ kind: "endpoint" as const, clusterId, name, value });

export function storeContract(name: string, make: () => Promise<Store> | Store): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await make();
    });
    afterEach(async () => {
      await store.close();
    });

    it("starts empty at revision 0", async () => {
      assert.equal(await store.revision(), 0);
      assert.deepEqual((await store.list()).records, []);
    });

    it("put assigns increasing revisions and keeps createRevision across updates", async () => {
      const a = await store.put(ep("c1", "a", '{"v":1}'));
      const b = await store.put(ep("c1", "a", '{"v":2}'));
      assert.ok(b.revision > a.revision);
      assert.equal(b.createRevision, a.revision);
      assert.equal((await store.get(ep("c1", "a")))?.value, '{"v":2}');
      assert.equal(await store.revision(), b.revision);
    });

    it("lists by kind, consistent with the revision", async () => {
      await store.put(ep("c1", "a"));
      await store.put({ kind: "cluster", clusterId: "c1", name: "c1", value: "{}" });
      const { records, revision } = await store.list("endpoint");
      assert.deepEqual(
        records.map((r) => r.name),
        ["a"],
      );
      assert.equal(revision, 2);
      assert.equal((await store.list()).records.length, 2);
    });

    it("compare-and-set: expectedRevision and createOnly", async () => {
      const a = await store.put(ep("c1", "a"));
      await assert.rejects(store.put(ep("c1", "a"), { expectedRevision: a.revision + 100 }), ConflictError);
      await assert.rejects(store.put(ep("c1", "a"), { createOnly: true }), AlreadyExistsError);
      const b = await store.put(ep("c1", "a", '{"x":1}'), { expectedRevision: a.revision });
      assert.equal(b.value, '{"x":1}');
      await assert.rejects(store.delete(ep("c1", "a"), { expectedRevision: a.revision }), ConflictError);
      assert.equal((await store.delete(ep("c1", "a"), { expectedRevision: b.revision })).deleted, true);
    });

    it("a failed condition writes nothing", async () => {
      await store.put(ep("c1", "a"));
      const rev = await store.revision();
      await assert.rejects(store.put(ep("c1", "a"), { createOnly: true }));
      assert.equal(await store.revision(), rev);
    });

    it("delete is idempotent", async () => {
      await store.put(ep("c1", "a"));
      assert.equal((await store.delete(ep("c1", "a"))).deleted, true);
      assert.equal((await store.delete(ep("c1", "a"))).deleted, false);
      assert.equal(await store.get(ep("c1", "a")), undefined);
    });

    it("deleteCluster removes only that cluster's records", async () => {
      await store.put(ep("c1", "a"));
      await store.put(ep("c1", "b"));
      await store.put(ep("c2", "a"));
      assert.equal((await store.deleteCluster("c1")).deleted, 2);
      assert.deepEqual(
        (await store.list()).records.map((r) => r.clusterId),
        ["c2"],
      );
    });

    it("watch delivers history then live events, in order, exactly once", async () => {
      await store.put(ep("c1", "a"));
      const from = await store.revision();
      await store.put(ep("c1", "b"));
      await store.delete(ep("c1", "a"));
      const seen: StoreEvent[] = [];
      const stop = await store.watch(from, [], (e) => seen.push(e));
      await store.put(ep("c2", "c"));
      await store.deleteCluster("c2");
      stop();
      await store.put(ep("c3", "late"));
      assert.deepEqual(
        seen.map((e) => `${e.type}:${e.record.clusterId}/${e.record.name}`),
        ["put:c1/b", "delete:c1/a", "put:c2/c", "delete:c2/c"],
      );
      const revs = seen.map((e) => e.revision);
      assert.deepEqual(
        revs,
        [...revs].sort((x, y) => x - y),
      );
      assert.equal(new Set(revs).size, revs.length);
    });

    it("watch filters by kind", async () => {
      const seen: string[] = [];
      const stop = await store.watch(0, ["cluster"], (e) => seen.push(e.record.kind));
      await store.put(ep("c1", "a"));
      await store.put({ kind: "cluster", clusterId: "c1", name: "c1", value: "{}" });
      stop();
      assert.deepEqual(seen, ["cluster"]);
    });

    it("compaction: old revisions raise CompactedError, recent ones still resume", async () => {
      for (let i = 0; i < 10; i++) await store.put(ep("c1", `r${i}`));
      await store.compact(3);
      await assert.rejects(
        store.watch(1, [], () => {}),
        CompactedError,
      );
      const seen: number[] = [];
      const stop = await store.watch(7, [], (e) => seen.push(e.revision));
      stop();
      assert.deepEqual(seen, [8, 9, 10]);
    });
  });
}
