import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { WireRecord } from "@causeway/api";
import { stringify } from "yaml";
import { buildViews, renderText, SECTIONS, toData } from "./index.ts";

const DATA = join(import.meta.dirname, "testdata");

/** Compares with a golden file; UPDATE_GOLDEN=1 rewrites it (review the diff before committing). */
function golden(file: string, actual: string): void {
  if (process.env.UPDATE_GOLDEN === "1" || !existsSync(file)) writeFileSync(file, actual);
  assert.equal(actual, readFileSync(file, "utf8"), `${file} differs (UPDATE_GOLDEN=1 rewrites it)`);
}

describe("show output (golden)", () => {
  // Records of a 2-cluster VXLAN lab as the broker listed them (timestamps fixed).
  const records = JSON.parse(readFileSync(join(DATA, "records.json"), "utf8")) as WireRecord[];
  const views = buildViews(records);

  it("show all as tables", () => {
    golden(join(DATA, "show-all.txt"), `${renderText(views, SECTIONS)}\n`);
  });

  it("each section alone, and -o yaml / json", () => {
    for (const s of SECTIONS) golden(join(DATA, `show-${s}.txt`), `${renderText(views, [s])}\n`);
    golden(join(DATA, "show-all.yaml"), stringify(toData(views, SECTIONS)));
    golden(join(DATA, "show-all.json"), `${JSON.stringify(toData(views, SECTIONS), null, 2)}\n`);
  });
});
