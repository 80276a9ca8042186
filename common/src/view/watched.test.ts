/** A view started again starts from an empty cache: it is not synced until its new watcher has listed. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type Watchable, WatchedView } from "./watched.ts";

class FakeWatcher implements Watchable {
  #list!: () => void;
  readonly synced = new Promise<void>((r) => (this.#list = r));
  started = false;
  stopped = false;
  items: string[] = [];
  start(): void {
    this.started = true;
  }
  stop(): void {
    this.stopped = true;
  }
  /** Its first list loads. */
  listed(items: string[]): void {
    this.items = items;
    this.#list();
  }
}

class FakeView extends WatchedView<FakeWatcher> {
  readonly made: FakeWatcher[] = [];
  protected makeWatcher(): FakeWatcher {
    const w = new FakeWatcher();
    this.made.push(w);
    return w;
  }
  items(): string[] {
    return this.watcher?.items ?? [];
  }
}

const settled = async (p: Promise<void>): Promise<boolean> => Promise.race([p.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 20))]);

describe("WatchedView", () => {
  it("synced once the first list loaded", async () => {
    const v = new FakeView();
    v.start(() => undefined);
    assert.equal(v.isSynced, false);
    assert.equal(await settled(v.synced), false);
    v.made[0]?.listed(["a"]);
    assert.equal(await settled(v.synced), true);
    assert.equal(v.isSynced, true);
    assert.deepEqual(v.items(), ["a"]);
  });

  it("started again after a stop: not synced (its cache empty) until the new watcher lists; the old watcher stopped", async () => {
    const v = new FakeView();
    v.start(() => undefined);
    v.made[0]?.listed(["a"]);
    await v.synced;
    v.stop();
    v.start(() => undefined);
    assert.equal(v.made.length, 2);
    assert.equal(v.made[0]?.stopped, true);
    assert.equal(v.isSynced, false, "an empty cache is not a synced view");
    assert.deepEqual(v.items(), []);
    assert.equal(await settled(v.synced), false, "synced read after the restart waits for the new list");
    v.made[1]?.listed(["a", "b"]);
    assert.equal(await settled(v.synced), true);
    assert.equal(v.isSynced, true);
  });

  it("a watcher replaced before it listed does not mark its successor synced; the promise read before the restart resolves with the new list", async () => {
    const v = new FakeView();
    v.start(() => undefined);
    const before = v.synced;
    v.start(() => undefined);
    assert.equal(v.made[0]?.stopped, true);
    v.made[0]?.listed(["old"]);
    assert.equal(await settled(v.synced), false);
    assert.equal(v.isSynced, false);
    v.made[1]?.listed(["new"]);
    assert.equal(await settled(v.synced), true);
    assert.equal(await settled(before), true, "nobody waiting on the first start's promise is left hanging");
  });
});
