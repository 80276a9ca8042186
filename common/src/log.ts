import { createRequire } from "node:module";
import type { pino as Pino } from "pino";

export type Logger = Pino.Logger;

/** pino, loaded with the first logger: a CLI command that logs nothing does not load it. */
const loadPino = (): typeof Pino => (createRequire(import.meta.url)("pino") as { pino: typeof Pino }).pino;

/** Field names used across components (CONVENTIONS 11). */
export const F = {
  component: "component",
  cluster: "cluster",
  remoteCluster: "remoteCluster",
  endpoint: "endpoint",
  node: "node",
} as const;

/** One root logger per process: JSON lines with component and cluster. */
export function createLogger(component: string, fields: Record<string, string> = {}, level = process.env.CAUSEWAY_LOG_LEVEL ?? "info"): Logger {
  const pino = loadPino();
  return pino({ level, base: { [F.component]: component, ...fields }, timestamp: pino.stdTimeFunctions.isoTime });
}

/** A logger that drops everything (tests). */
export function silentLogger(): Logger {
  return loadPino()({ level: "silent" });
}
