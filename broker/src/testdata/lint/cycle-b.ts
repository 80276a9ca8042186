// Lint fixture (e2e/src/repo/lint.test.ts): the other half of the import cycle.
import { a } from "./cycle-a.ts";

export const b = (): number => (Math.random() > 2 ? a() : 0);
