import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { CAUSEWAY_VERSION } from "./version.ts";

describe("version", () => {
  it("every workspace's package.json carries CAUSEWAY_VERSION", () => {
    const root = join(import.meta.dirname, "../..");
    const { workspaces } = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { workspaces: string[] };
    for (const w of workspaces) {
      const { version } = JSON.parse(readFileSync(join(root, w, "package.json"), "utf8")) as { version: string };
      assert.equal(version, CAUSEWAY_VERSION, `${w}/package.json`);
    }
  });
});
