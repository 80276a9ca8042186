import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { linesBetween } from "./logs.ts";

describe("linesBetween", () => {
  it("keeps the JSON lines within the window, a container log's CRI prefix stripped; others left out", () => {
    const text = [
      '{"level":30,"time":1000,"msg":"before"}',
      '2026-12-07T07:00:00.000000000Z stderr F {"level":30,"time":2000,"msg":"in, container"}',
      '{"level":40,"time":3000,"msg":"in, last"}',
      '{"level":30,"time":3001,"msg":"after"}',
      "not json at all",
      '{"level":30,"msg":"no time"}',
      "{broken",
    ].join("\n");
    assert.deepEqual(
      linesBetween(text, 2000, 3000).map((l) => (JSON.parse(l) as { msg: string }).msg),
      ["in, container", "in, last"],
    );
    assert.deepEqual(linesBetween(text, 5000, 6000), []);
  });
});
