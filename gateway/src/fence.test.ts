import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { host } from "@causeway/common";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { VxlanCableDriver } from "./cable/vxlan.ts";
import { Fence, FencedError } from "./fence.ts";

describe("fence", () => {
  it("abandons a write hung on the broker the moment it is raised, refuses new writes and cable syncs", async () => {
    const hung = new Promise<void>(() => undefined);
    const calls: string[] = [];
    const inner = {
      putEndpoint: async () => void calls.push("putEndpoint"),
      deleteEndpoint: async () => void calls.push("deleteEndpoint"),
      putStatus: () => hung,
      deleteStatus: async () => void calls.push("deleteStatus"),
    };
    const fence = new Fence();
    const sink = fence.sink(inner);
    const driver = fence.driver(new VxlanCableDriver(host.fakeHostAdapters()));
    assert.equal(driver.name, "vxlan");
    await sink.putEndpoint({} as never);
    const pending = sink.putStatus("n0", {} as never);
    const t0 = performance.now();
    fence.raise();
    await assert.rejects(pending, FencedError);
    assert.ok(performance.now() - t0 < 50, "abandoned at once");
    await assert.rejects(sink.deleteEndpoint({} as never), FencedError);
    await assert.rejects(driver.sync({} as never, []), FencedError);
    await driver.cleanup();
    assert.deepEqual(calls, ["putEndpoint"]);
  });

  it("a fenced driver still reads its cable devices' byte counters (the metrics of a gateway that stepped down go on)", async () => {
    const sys = mkdtempSync(join(tmpdir(), "causeway-sysnet-"));
    try {
      mkdirSync(join(sys, "vxlan-tunnel", "statistics"), { recursive: true });
      writeFileSync(join(sys, "vxlan-tunnel", "statistics", "rx_bytes"), "1234\n");
      writeFileSync(join(sys, "vxlan-tunnel", "statistics", "tx_bytes"), "5678\n");
      const fence = new Fence();
      const driver = fence.driver(new VxlanCableDriver(host.fakeHostAdapters()));
      fence.raise();
      assert.deepEqual(await driver.deviceTraffic?.(sys), { rxBytes: 1234, txBytes: 5678 });
      assert.deepEqual(await driver.deviceTraffic?.(join(sys, "none")), { rxBytes: 0, txBytes: 0 }, "no device: nothing counted");
    } finally {
      rmSync(sys, { recursive: true, force: true });
    }
  });
});
