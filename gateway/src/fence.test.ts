import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { host } from "@causeway/common";
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
});
