/**
 * Reading the lab's component logs by time: what each gateway (or other component) logged around
 * a moment a test saw go wrong, printed with the failure so a CI run's record says what the
 * components were doing then.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { ProbeResult } from "./failover.ts";
import type { Lab } from "./lab.ts";
import { nodePaths } from "./nodeconfig.ts";

/** A log line's `time` in ms since the epoch: Causeway's loggers write ISO 8601 (common/src/log.ts), pino's default is a number. */
function timeOf(line: string): number | undefined {
  let time: unknown;
  try {
    time = (JSON.parse(line) as { time?: unknown }).time;
  } catch {
    return undefined;
  }
  const ms = typeof time === "number" ? time : typeof time === "string" ? Date.parse(time) : Number.NaN;
  return Number.isFinite(ms) ? ms : undefined;
}

/**
 * Pure: the lines of a component's log (pino JSON; a container's log has the CRI prefix "<time>
 * <stream> <tag> " before it) whose `time` is within [fromMs, toMs] (ms since the epoch), each
 * without the prefix. Lines that are not JSON or carry no time are left out.
 */
export function linesBetween(text: string, fromMs: number, toMs: number): string[] {
  const out: string[] = [];
  for (const raw of text.split("\n")) {
    const json = raw.slice(Math.max(0, raw.indexOf("{")));
    if (!json.startsWith("{")) continue;
    const time = timeOf(json);
    if (time !== undefined && time >= fromMs && time <= toMs) out.push(json);
  }
  return out;
}

/** The log files of `role` ("gateway") on `target` ("c1/n0"): the process's log, or on real nodes its containers' logs (every restart's). */
export function componentLogFiles(lab: Lab, target: string, role: string): string[] {
  const [clusterId = "", node = ""] = target.split("/");
  const c = lab.cluster(clusterId);
  const p = c.processes.find((x) => x.role === `${role}/${node}`);
  if (p) return [p.log];
  const n = c.spec.nodes.find((x) => x.name === node);
  if (!n) return [];
  const pods = nodePaths(lab.state.dir, c.spec, n).podLogs;
  if (!existsSync(pods)) return [];
  const files: string[] = [];
  for (const pod of readdirSync(pods).filter((d) => d.includes(`_causeway-${role}-`))) {
    const dir = join(pods, pod, role);
    if (existsSync(dir)) files.push(...readdirSync(dir).map((f) => join(dir, f)));
  }
  return files;
}

/**
 * What `role` logged on each of `targets` within [fromMs, toMs] (wall clock), as one text: a
 * heading per target, its lines in time order (the last `maxLines` of each).
 */
export function logsAround(lab: Lab, targets: readonly string[], role: string, fromMs: number, toMs: number, maxLines = 80): string {
  const out: string[] = [];
  for (const t of targets) {
    const lines = componentLogFiles(lab, t, role).flatMap((f) => {
      try {
        return linesBetween(readFileSync(f, "utf8"), fromMs, toMs);
      } catch {
        return [];
      }
    });
    // Each line's time read once (linesBetween kept only lines that have one).
    const sorted = lines
      .map((l) => [timeOf(l) ?? 0, l] as const)
      .sort(([a], [b]) => a - b)
      .map(([, l]) => l);
    out.push(`${role} ${t}, ${new Date(fromMs).toISOString()} to ${new Date(toMs).toISOString()}: ${sorted.length} lines`, ...sorted.slice(-maxLines));
  }
  return out.join("\n");
}

/**
 * What `role` logged on `targets` around the probes' outages (from 1.5 s before the first to 0.5 s
 * after the last; a probe never answered again counts to now): for a test to print when an outage
 * broke its bound. Empty when no probe had an outage.
 */
export function outageLogs(lab: Lab, results: Readonly<Record<string, ProbeResult>>, targets: readonly string[], role = "gateway"): string {
  const spans = Object.values(results).flatMap((r) => [
    ...r.outages.map((o) => [r.originMs + o.fromMs, r.originMs + o.fromMs + o.ms] as const),
    ...(r.lostAtEnd > 0 ? [[Date.now() - 1000, Date.now()] as const] : []),
  ]);
  if (!spans.length) return "";
  return logsAround(lab, targets, role, Math.min(...spans.map(([a]) => a)) - 1500, Math.max(...spans.map(([, b]) => b)) + 500);
}
