import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { WatchEvent_Type } from "@causeway/api/grpc";
import { WATCH_EVENT } from "./watcher.ts";

describe("broker watcher", () => {
  it("its event types are the generated enum's values (it does not import the generated gRPC module)", () => {
    assert.deepEqual(WATCH_EVENT, { PUT: WatchEvent_Type.PUT, DELETE: WatchEvent_Type.DELETE, BOOKMARK: WatchEvent_Type.BOOKMARK });
  });
});
