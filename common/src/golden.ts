import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";

/**
 * Test helper: asserts `actual` equals the golden file. A missing golden file fails the test (it is
 * never written during a normal run); UPDATE_GOLDEN=1 writes it (review the diff before committing).
 */
export function assertGolden(file: string, actual: string): void {
  if (process.env.UPDATE_GOLDEN === "1") writeFileSync(file, actual);
  if (!existsSync(file)) assert.fail(`golden file ${file} is missing: run the test with UPDATE_GOLDEN=1 to write it, then review it`);
  assert.equal(actual, readFileSync(file, "utf8"), `${file} differs (UPDATE_GOLDEN=1 rewrites it)`);
}
