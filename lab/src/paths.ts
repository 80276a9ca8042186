import { resolve } from "node:path";

/** The checkout the lab runs Causeway's processes and its tools from. */
export const REPO_ROOT = resolve(import.meta.dirname, "../..");
/** Where labs keep their state, logs and credentials (CAUSEWAY_LAB_DIR overrides). */
export const LAB_ROOT = process.env.CAUSEWAY_LAB_DIR ?? "/run/causeway-lab";
