// Lint fixture (e2e/src/repo/lint.test.ts): one half of an import cycle; the tree's lint ignores testdata/lint.
import { b } from "./cycle-b.ts";

export const a = (): number => b() + 1;
