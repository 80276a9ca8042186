import { spawn } from "node:child_process";
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
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill("SIGKILL");
      }, opts.timeoutMs ?? this.#defaultTimeoutMs);
      child.stdout.on("data", (b: Buffer) => out.push(b));
      child.stderr.on("data", (b: Buffer) => err.push(b));
      child.on("error", (e) => {
        clearTimeout(timer);
        reject(new CommandFailedError({ file, args, exitCode: null, signal: null, stderr: e.message, durationMs: performance.now() - started, timedOut }));
      });
      child.on("close", (code, signal) => {
        clearTimeout(timer);
        const r: CommandResult = {
          exitCode: code,
          signal,
          stdout: Buffer.concat(out).toString(),
          stderr: Buffer.concat(err).toString(),
          durationMs: performance.now() - started,
        };
        if ((code === 0 && !timedOut) || (opts.allowFailure && !timedOut)) resolve(r);
        else reject(new CommandFailedError({ ...r, file, args, timedOut }));
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
