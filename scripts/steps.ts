/**
 * Steps a person can follow (npm run demo, npm test): one line per step with its time — a live
 * spinner while it runs when stdout is a terminal, plain lines otherwise (CI logs). A step's noisy
 * output (go, npm, apt) goes to a log file under $CAUSEWAY_CACHE/logs; a failing step prints its
 * last lines and the log's path, and the process exits non-zero.
 */
import { spawn } from "node:child_process";
import { accessSync, appendFileSync, constants, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

const tty = process.stdout.isTTY === true;
const FRAMES = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
/** A duration as a person reads it: "4.2 s", "37 s". */
export const seconds = (ms: number): string => (ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`);

/** The log file of this run (one per script run), created on first use. */
let logFile: string | undefined;
export function stepLog(name = "run"): string {
  if (!logFile) {
    const root = process.env.CAUSEWAY_CACHE ?? join(homedir(), ".cache/causeway");
    const dir = join(root, "logs");
    try {
      mkdirSync(dir, { recursive: true });
      accessSync(dir, constants.W_OK);
    } catch {
      console.error(`✗ cache directory ${root} is not writable; set CAUSEWAY_CACHE to a writable directory`);
      process.exit(2);
    }
    logFile = join(dir, `${name}-${new Date().toISOString().replace(/[:.]/g, "-")}.log`);
    writeFileSync(logFile, "");
  }
  return logFile;
}

/** Runs `f` as a step: a spinner (terminal) or nothing (log), then "✓ label (time)"; on failure "✗ label", the log's tail and path, exit 1. */
export async function step<T>(label: string, f: () => Promise<T>, detail?: (result: T) => string): Promise<T> {
  const t0 = performance.now();
  let frame = 0;
  const timer = tty
    ? setInterval(() => process.stdout.write(`\r${FRAMES[frame++ % FRAMES.length]} ${label} ${Math.round((performance.now() - t0) / 1000)} s…\x1b[K`), 100)
    : undefined;
  try {
    const r = await f();
    if (timer) clearInterval(timer);
    const extra = detail ? ` ${detail(r)}` : "";
    process.stdout.write(`${tty ? "\r" : ""}✓ ${label} (${seconds(performance.now() - t0)})${extra}${tty ? "\x1b[K" : ""}\n`);
    return r;
  } catch (err) {
    if (timer) clearInterval(timer);
    process.stdout.write(`${tty ? "\r" : ""}✗ ${label} (${seconds(performance.now() - t0)})${tty ? "\x1b[K" : ""}\n`);
    const message = err instanceof Error ? err.message : String(err);
    const tail = logFile ? readFileSync(logFile, "utf8").trimEnd().split("\n").slice(-20) : [];
    console.error(
      [
        `  ${message}`,
        ...(tail.length ? ["  last lines of the log:", ...tail.map((l) => `    ${l}`)] : []),
        ...(logFile ? [`  full log: ${logFile}`] : []),
      ].join("\n"),
    );
    process.exit(1);
  }
}

/** A command as a step's work: stderr (and stdout unless captured) into the log; resolves with stdout, rejects naming the command and exit status. */
export function command(file: string, args: readonly string[], o: { env?: NodeJS.ProcessEnv; captureStdout?: boolean } = {}): Promise<string> {
  const log = stepLog();
  appendFileSync(log, `\n$ ${file} ${args.join(" ")}\n`);
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env: o.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
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
