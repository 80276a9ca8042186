import { homedir } from "node:os";
import { join, resolve } from "node:path";

/** The checkout the lab runs Causeway's processes and its tools from. */
export const REPO_ROOT = resolve(import.meta.dirname, "../..");
/** Where labs keep their state, logs and credentials (CAUSEWAY_LAB_DIR overrides). */
export const LAB_ROOT = process.env.CAUSEWAY_LAB_DIR ?? "/run/causeway-lab";
/** Where everything built or downloaded is kept (CAUSEWAY_CACHE moves it), as the build scripts and npm scripts use it. */
export const CACHE_ROOT = process.env.CAUSEWAY_CACHE ?? join(homedir(), ".cache/causeway");
/**
 * Node's compile cache for the lab's processes (as the ./causeway wrapper uses): a component
 * loads its stripped, compiled modules from it — about half the start of a dozen processes a lab
 * starts at once on two cores.
 */
export const NODE_COMPILE_CACHE = process.env.NODE_COMPILE_CACHE ?? join(CACHE_ROOT, "node-compile");
