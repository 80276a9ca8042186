import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";

/** The checkout the lab runs Causeway's processes and its tools from. */
export const REPO_ROOT = resolve(import.meta.dirname, "../..");
/** Where labs keep their state, logs and credentials (CAUSEWAY_LAB_DIR overrides). */
export const LAB_ROOT = process.env.CAUSEWAY_LAB_DIR ?? "/run/causeway-lab";
/**
 * Where labs keep what is written with fsync (each cluster's etcd, the broker's SQLite database):
 * in memory (/dev/shm; CAUSEWAY_LAB_MEMORY_DIR overrides), as a lab is thrown away anyway. On a
 * disk, every Lease renewal and broker write waits for a flush that one shared disk of a CI machine
 * may take long to give, so leaders miss their renew deadlines for reasons no separate machine has.
 * Without /dev/shm: the lab's own directory.
 */
export const LAB_MEMORY_ROOT = process.env.CAUSEWAY_LAB_MEMORY_DIR ?? (existsSync("/dev/shm") ? "/dev/shm/causeway-lab" : LAB_ROOT);
/** A lab's directory for what is written with fsync (LAB_MEMORY_ROOT); Lab.down removes it. */
export const labMemoryDir = (name: string): string => join(LAB_MEMORY_ROOT, name);
/** Where everything built or downloaded is kept (CAUSEWAY_CACHE moves it), as the build scripts and npm scripts use it. */
export const CACHE_ROOT = process.env.CAUSEWAY_CACHE ?? join(homedir(), ".cache/causeway");
/**
 * Node's compile cache for the lab's processes (as the ./causeway wrapper uses): a component
 * loads its stripped, compiled modules from it — about half the start of a dozen processes a lab
 * starts at once on two cores.
 */
export const NODE_COMPILE_CACHE = process.env.NODE_COMPILE_CACHE ?? join(CACHE_ROOT, "node-compile");
