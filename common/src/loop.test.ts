/** Reconcile loops: passes coalesce, and a loop stopped before its views synced never starts (no pass, no timer left). */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { silentLogger } from "./log.ts";
import { ReconcileLoop, ViewDrivenLoop } from "./loop.ts";
import type { Source } from "./view/types.ts";

const log = silentLogger();
const tick = (ms = 30) => new Promise((r) => setTimeout(r, ms));

/** A view whose first picture arrives when `sync()` is called. */
function lateSource(): Source & { sync(): void; stopped: boolean } {
  let sync = () => {};
  const synced = new Promise<void>((r) => (sync = r));
  return {
    synced,
    stopped: false,
    sync: () => sync(),
    start() {},
    stop() {
      this.stopped = true;
    },
  };
}

describe("reconcile loops", () => {
  it("triggers before a pass starts collapse into one pass", async () => {
    let passes = 0;
    const loop = new ReconcileLoop({ name: "t", log, resyncMs: 60_000, run: async () => void passes++ });
    loop.start();
    loop.trigger();
    loop.trigger();
    await tick();
    await loop.stop();
    assert.equal(passes, 1);
    assert.equal(loop.passes, 1);
  });

  it("a view-driven loop runs once its views have synced", async () => {
    let passes = 0;
    const src = lateSource();
    const loop = new ViewDrivenLoop([src], { name: "t", log, resyncMs: 60_000, run: async () => void passes++ });
    loop.start();
    await tick();
    assert.equal(passes, 0, "no pass before the views synced");
    src.sync();
    await tick();
    assert.equal(passes, 1);
    await loop.stop();
    assert.equal(src.stopped, true);
  });

  it("a view-driven loop stopped before its views synced never starts: no pass, no resync timer keeping the process alive", async () => {
    let passes = 0;
    const src = lateSource();
    const loop = new ViewDrivenLoop([src], { name: "t", log, resyncMs: 60_000, run: async () => void passes++ });
    loop.start();
    const timersBefore = process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
    await loop.stop();
    src.sync();
    await tick();
    assert.equal(passes, 0);
    assert.equal(loop.loop.passes, 0);
    // The tick's own timer has fired: any Timeout more than before is one the loop left behind.
    const timersAfter = process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
    assert.ok(timersAfter <= timersBefore, `timers before ${timersBefore}, after ${timersAfter}`);
  });
});
