import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { silentLogger } from "@causeway/common";
import { sysfsLinkUp, UnderlayWatch } from "./underlay.ts";

describe("underlay watch", () => {
  it("tells each change of the link once, in order", async () => {
    let up = true;
    const seen: boolean[] = [];
    const w = new UnderlayWatch({ dev: "ul0", log: silentLogger(), isUp: async () => up, onChange: (x) => void seen.push(x), intervalMs: 10 });
    w.start();
    try {
      const settle = () => new Promise((r) => setTimeout(r, 60));
      await settle();
      up = false;
      await settle();
      assert.equal(w.up, false);
      up = true;
      await settle();
      assert.deepEqual(seen, [false, true]);
    } finally {
      w.stop();
    }
  });

  it("reads sysfs: loopback is up, a missing device is down", async () => {
    assert.equal(await sysfsLinkUp("lo"), true);
    assert.equal(await sysfsLinkUp("cw-no-such-dev"), false);
  });
});
