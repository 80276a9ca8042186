/**
 * Steps a person can follow (npm run demo, npm test): one line per step with its time — a live
 * spinner while it runs when stdout is a terminal, plain lines otherwise (CI logs). A step's noisy
 * output (go, npm, apt) goes to a log file under $CAUSEWAY_CACHE/logs; a failing step prints its
 * last lines and the log's path, and the process exits non-zero.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { accessSync, appendFileSync, constants, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

const tty = process.stdout.isTTY === true;
/** Where everything built or downloaded is kept (CAUSEWAY_CACHE moves it). */
export const CACHE_ROOT = process.env.CAUSEWAY_CACHE ?? join(homedir(), ".cache/causeway");
/** The Node processes a run starts (test files, lab components) share one compile cache, as the ./causeway wrapper does. */
process.env.NODE_COMPILE_CACHE ??= join(CACHE_ROOT, "node-compile");
const FRAMES = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
/** A duration as a person reads it: "4.2 s", "37 s". */
export const seconds = (ms: number): string => (ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`);

/** The log file of this run (one per script run), created on first use. */
let logFile: string | undefined;
export function stepLog(name = "run"): string {
  if (!logFile) {
    const dir = join(CACHE_ROOT, "logs");
    try {
      mkdirSync(dir, { recursive: true });
      accessSync(dir, constants.W_OK);
    } catch {
      console.error(`✗ cache directory ${CACHE_ROOT} is not writable; set CAUSEWAY_CACHE to a writable directory`);
      process.exit(2);
    }
    logFile = join(dir, `${name}-${new Date().toISOString().replace(/[:.]/g, "-")}.log`);
    writeFileSync(logFile, "");
  }
  return logFile;
}

/** The steps running now (several when a script runs steps side by side) — one spinner line shows them all. */
const running = new Set<{ label: string; t0: number }>();
let spinner: NodeJS.Timeout | undefined;
let frame = 0;

/** The spinner line: a frame, then each running step with its seconds, cut to the terminal's width (a wrapped line could not be redrawn). */
function render(): void {
  const line = `${FRAMES[frame++ % FRAMES.length]} ${[...running].map((r) => `${r.label} ${Math.round((performance.now() - r.t0) / 1000)} s…`).join(" · ")}`;
  const width = (process.stdout.columns || 100) - 1;
  process.stdout.write(`\r${line.length > width ? `${line.slice(0, width - 1)}…` : line}\x1b[K`);
}

/** A finished step's line, printed over the spinner line (which the next frame draws again below it). */
function finish(r: { label: string; t0: number }, mark: "✓" | "✗", extra = ""): void {
  running.delete(r);
  if (spinner && running.size === 0) {
    clearInterval(spinner);
    spinner = undefined;
  }
  process.stdout.write(`${tty ? "\r" : ""}${mark} ${r.label} (${seconds(performance.now() - r.t0)})${extra}${tty ? "\x1b[K" : ""}\n`);
}

/** A step's work: its label, what it runs, and what its line adds after the time (e.g. each tool's time). */
export interface Step<T> {
  readonly label: string;
  readonly run: () => Promise<T>;
  readonly detail?: (result: T) => string;
}

/** Runs a step, printing its line ("✓ label (time) detail" or "✗ label (time)"); rethrows a failure. */
async function timed<T>(s: Step<T>): Promise<T> {
  const r = { label: s.label, t0: performance.now() };
  running.add(r);
  if (tty && !spinner) {
    frame = 0;
    spinner = setInterval(render, 100);
  }
  try {
    const result = await s.run();
    finish(r, "✓", s.detail ? ` ${s.detail(result)}` : "");
    return result;
  } catch (err) {
    finish(r, "✗");
    throw err;
  }
}

/** After a step failed: its error, the log's last lines and path; the commands still running stopped; exit 1. */
function fail(err: unknown): never {
  const message = err instanceof Error ? err.message : String(err);
  const tail = logFile ? readFileSync(logFile, "utf8").trimEnd().split("\n").slice(-20) : [];
  console.error(
    [`  ${message}`, ...(tail.length ? ["  last lines of the log:", ...tail.map((l) => `    ${l}`)] : []), ...(logFile ? [`  full log: ${logFile}`] : [])].join(
      "\n",
    ),
  );
  stopCommands();
  process.exit(1);
}

/** Runs `f` as a step: a spinner (terminal) or nothing (log), then "✓ label (time)"; on failure "✗ label", the log's tail and path, exit 1. */
export async function step<T>(label: string, f: () => Promise<T>, detail?: (result: T) => string): Promise<T> {
  try {
    return await timed({ label, run: f, ...(detail ? { detail } : {}) });
  } catch (err) {
    fail(err);
  }
}

/**
 * Runs two steps side by side (the demo starts its lab while CoreDNS builds), one spinner line
 * showing both. When one fails, the other's commands are stopped and it is waited for, `undo`
 * removes what was made (the lab), and the run fails as step() does: nothing is left behind.
 */
export async function together<A, B>(a: Step<A>, b: Step<B>, undo: () => Promise<unknown>): Promise<[A, B]> {
  let first: { err: unknown } | undefined;
  const stopOthers = (err: unknown) => {
    if (!first) {
      first = { err };
      stopCommands();
    }
    throw err;
  };
  const settled = await Promise.allSettled([timed(a).catch(stopOthers), timed(b).catch(stopOthers)]);
  if (first) {
    await undo().catch(() => undefined);
    fail(first.err);
  }
  return settled.map((r) => (r as PromiseFulfilledResult<unknown>).value) as [A, B];
}

/** The commands steps started that are still running, each the leader of its own process group. */
const commands = new Set<ChildProcess>();

/** Stops every running command with all it started (a Go build's compilers too): nothing is left behind. */
function stopCommands(): void {
  for (const c of commands) {
    try {
      if (c.pid) process.kill(-c.pid, "SIGTERM");
    } catch {
      // already gone
    }
  }
}

// Ctrl-C or a kill while commands run: stop them too (each is in a process group of its own, so the terminal's signal does not reach it).
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    stopCommands();
    process.exit(signal === "SIGINT" ? 130 : 143);
  });
}

/** A command as a step's work: stderr (and stdout unless captured) into the log; resolves with stdout, rejects naming the command and exit status. */
export function command(file: string, args: readonly string[], o: { env?: NodeJS.ProcessEnv; captureStdout?: boolean } = {}): Promise<string> {
  const log = stepLog();
  appendFileSync(log, `\n$ ${file} ${args.join(" ")}\n`);
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env: o.env ?? process.env, stdio: ["ignore", "pipe", "pipe"], detached: true });
    commands.add(child);
    child.on("close", () => commands.delete(child));
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      if (o.captureStdout) out += d.toString();
      appendFileSync(log, d);
    });
    child.stderr.on("data", (d: Buffer) => appendFileSync(log, d));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`${file} ${args.join(" ")} exited ${code}`))));
  });
}
