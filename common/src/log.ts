import { pino } from "pino";

export type Logger = pino.Logger;

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
  return pino({ level, base: { [F.component]: component, ...fields }, timestamp: pino.stdTimeFunctions.isoTime });
}

/** A logger that drops everything (tests). */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
