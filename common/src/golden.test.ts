import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { assertGolden } from "./index.ts";

describe("golden files", () => {
  it("a missing golden file fails and is not written; a different one fails; UPDATE_GOLDEN=1 writes it", () => {
    const dir = mkdtempSync(join(tmpdir(), "cw-golden-"));
    const before = process.env.UPDATE_GOLDEN;
    try {
      delete process.env.UPDATE_GOLDEN;
      const file = join(dir, "out.txt");
      assert.throws(() => assertGolden(file, "text\n"), /golden file .*out\.txt is missing: run the test with UPDATE_GOLDEN=1/);
      assert.equal(existsSync(file), false, "a normal run never writes the golden file");
      writeFileSync(file, "other\n");
      assert.throws(() => assertGolden(file, "text\n"), /out\.txt differs/);
      process.env.UPDATE_GOLDEN = "1";
      assertGolden(file, "text\n");
      delete process.env.UPDATE_GOLDEN;
      assertGolden(file, "text\n");
    } finally {
      if (before === undefined) delete process.env.UPDATE_GOLDEN;
      else process.env.UPDATE_GOLDEN = before;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
