import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { CausewayError } from "@causeway/api";

/** A subprocess that exited non-zero, was killed, or timed out. */
/** A subprocess failed (exit status, signal or time-out): a failure, exit 1. */
export class CommandFailedError extends CausewayError {
  override name = "CommandFailedError";
  readonly file: string;
  readonly args: readonly string[];
  /** The process's exit status (null when killed or never started). */
  readonly status: number | null;
  readonly signal: string | null;
  readonly stderr: string;
  readonly durationMs: number;
  constructor(r: Omit<CommandResult, "stdout"> & { file: string; args: readonly string[]; timedOut: boolean }) {
    const why = r.timedOut ? "timed out" : r.signal ? `killed by ${r.signal}` : `exited ${r.exitCode}`;
    super(`${r.file} ${r.args.join(" ")} ${why}: ${r.stderr.trim().slice(0, 2000)}`);
    this.file = r.file;
    this.args = r.args;
    this.status = r.exitCode;
    this.signal = r.signal;
    this.stderr = r.stderr;
    this.durationMs = r.durationMs;
  }
}

export interface CommandResult {
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly durationMs: number;
}

export interface RunOptions {
  /** Written to the process's standard input, then closed. */
  readonly input?: string;
  readonly timeoutMs?: number;
  /** When true a non-zero exit resolves instead of throwing. */
  readonly allowFailure?: boolean;
}

/** Runs programs: argv arrays, never a shell, always a timeout (CONVENTIONS 6). */
export interface CommandRunner {
  /** Runs file with args; rejects with CommandFailedError on failure unless allowFailure. */
  run(file: string, args: readonly string[], opts?: RunOptions): Promise<CommandResult>;
}

/** How long a finished process's pipes may stay open (held by a process it left behind) before they are closed on it. */
export const EXIT_GRACE_MS = 1000;

/** The process ids below `pid` (children, their children, …), from /proc: each process's parent is in its stat line. */
export function descendantsOf(pid: number, proc = "/proc"): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync(proc)) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`${proc}/${name}/stat`, "utf8");
    } catch {
      continue; // gone meanwhile
    }
    // "<pid> (<comm>) <state> <ppid> …": the name may hold spaces and parentheses, so read after the last ")".
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    const list = children.get(ppid) ?? [];
    list.push(Number(name));
    children.set(ppid, list);
  }
  const out: number[] = [];
  const queue = [pid];
  for (let p = queue.shift(); p !== undefined; p = queue.shift()) {
    for (const c of children.get(p) ?? []) {
      out.push(c);
      queue.push(c);
    }
  }
  return out;
}

/** SIGKILLs a process and every process below it (found first, so none is reparented away meanwhile). */
function killTree(pid: number | undefined): void {
  if (pid === undefined) return;
  let below: number[] = [];
  try {
    below = descendantsOf(pid);
  } catch {
    // no /proc: the process alone
  }
  for (const p of [pid, ...below]) {
    try {
      process.kill(p, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

export class ProcessRunner implements CommandRunner {
  readonly #defaultTimeoutMs: number;
  constructor(defaultTimeoutMs = 10_000) {
    this.#defaultTimeoutMs = defaultTimeoutMs;
  }

  run(file: string, args: readonly string[], opts: RunOptions = {}): Promise<CommandResult> {
    const started = performance.now();
    return new Promise((resolve, reject) => {
      const child = spawn(file, args, { stdio: ["pipe", "pipe", "pipe"] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let timedOut = false;
      let settled = false;
      let grace: NodeJS.Timeout | undefined;
      // Timed out: the process and everything it started (a grandchild holding the pipes would keep 'close' from coming).
      const timer = setTimeout(() => {
        timedOut = true;
        killTree(child.pid);
      }, opts.timeoutMs ?? this.#defaultTimeoutMs);
      child.stdout.on("data", (b: Buffer) => out.push(b));
      child.stderr.on("data", (b: Buffer) => err.push(b));
      child.on("error", (e) => {
        clearTimeout(timer);
        clearTimeout(grace);
        if (settled) return;
        settled = true;
        reject(new CommandFailedError({ file, args, exitCode: null, signal: null, stderr: e.message, durationMs: performance.now() - started, timedOut }));
      });
      const finish = (code: number | null, signal: NodeJS.Signals | null) => {
        clearTimeout(timer);
        clearTimeout(grace);
        if (settled) return;
        settled = true;
        const r: CommandResult = {
          exitCode: code,
          signal,
          stdout: Buffer.concat(out).toString(),
          stderr: Buffer.concat(err).toString(),
          durationMs: performance.now() - started,
        };
        if ((code === 0 && !timedOut) || (opts.allowFailure && !timedOut)) resolve(r);
        else reject(new CommandFailedError({ ...r, file, args, timedOut }));
      };
      child.on("close", finish);
      // A process it left running (a daemon) may hold its pipes: after a grace period the result is what came until then.
      child.on("exit", (code, signal) => {
        grace = setTimeout(() => {
          child.stdout.destroy();
          child.stderr.destroy();
          finish(code, signal);
        }, EXIT_GRACE_MS);
      });
      child.stdin.on("error", () => {
        // the child may exit before reading its input; its exit status tells what happened
      });
      child.stdin.end(opts.input ?? "");
    });
  }
}

/** A fake runner: records calls, answers from a handler, can be told to fail. */
export class FakeRunner implements CommandRunner {
  readonly calls: { file: string; args: readonly string[]; input: string }[] = [];
  handler: (file: string, args: readonly string[], input: string) => Partial<CommandResult> = () => ({});

  async run(file: string, args: readonly string[], opts: RunOptions = {}): Promise<CommandResult> {
    const input = opts.input ?? "";
    this.calls.push({ file, args, input });
    const r: CommandResult = { exitCode: 0, signal: null, stdout: "", stderr: "", durationMs: 0, ...this.handler(file, args, input) };
    if (r.exitCode !== 0 && !opts.allowFailure) throw new CommandFailedError({ ...r, file, args, timedOut: false });
    return r;
  }
}

/** Runs every command inside a named network namespace (`ip netns exec`). */
export class NetnsRunner implements CommandRunner {
  readonly #inner: CommandRunner;
  readonly ns: string;
  constructor(inner: CommandRunner, ns: string) {
    this.#inner = inner;
    this.ns = ns;
  }
  run(file: string, args: readonly string[], opts?: RunOptions): Promise<CommandResult> {
    return this.#inner.run("ip", ["netns", "exec", this.ns, file, ...args], opts);
  }
}
