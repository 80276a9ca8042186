import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { WireRecord } from "@causeway/api";
import { assertGolden } from "@causeway/common";
import { stringify } from "yaml";
import { buildViews, renderText, SECTIONS, toData } from "./index.ts";

const DATA = join(import.meta.dirname, "testdata");

describe("show output (golden)", () => {
  // Records of a 2-cluster VXLAN lab as the broker listed them (timestamps fixed).
  const records = JSON.parse(readFileSync(join(DATA, "records.json"), "utf8")) as WireRecord[];
  const views = buildViews(records);

  it("show all as tables", () => {
    assertGolden(join(DATA, "show-all.txt"), `${renderText(views, SECTIONS)}\n`);
  });

  it("each section alone, and -o yaml / json", () => {
    for (const s of SECTIONS) assertGolden(join(DATA, `show-${s}.txt`), `${renderText(views, [s])}\n`);
    assertGolden(join(DATA, "show-all.yaml"), stringify(toData(views, SECTIONS)));
    assertGolden(join(DATA, "show-all.json"), `${JSON.stringify(toData(views, SECTIONS), null, 2)}\n`);
  });
});
