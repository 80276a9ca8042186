import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { CommandFailedError, descendantsOf, EXIT_GRACE_MS, ProcessRunner } from "./runner.ts";

const dir = mkdtempSync(join(tmpdir(), "causeway-runner-"));
const left: number[] = [];

/** Alive and not a zombie (a container's PID 1 may never reap what it inherits). */
function running(pid: number): boolean {
  const stat = `/proc/${pid}/stat`;
  if (!existsSync(stat)) return false;
  const s = readFileSync(stat, "utf8");
  return s.slice(s.lastIndexOf(")") + 2)[0] !== "Z";
}

async function pidIn(file: string): Promise<number> {
  for (let i = 0; i < 100 && !existsSync(file); i++) await new Promise((r) => setTimeout(r, 20));
  const pid = Number(readFileSync(file, "utf8").trim());
  left.push(pid);
  return pid;
}

describe("ProcessRunner", () => {
  after(() => {
    for (const pid of left) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone, as it should be
      }
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it("stdout, stderr and the exit status; a non-zero exit rejects unless allowed", async () => {
    const r = await new ProcessRunner().run("sh", ["-c", "echo out; echo err >&2"]);
    assert.equal(r.stdout, "out\n");
    assert.equal(r.stderr, "err\n");
    assert.equal(r.exitCode, 0);
    await assert.rejects(
      new ProcessRunner().run("sh", ["-c", "echo no >&2; exit 3"]),
      (e: unknown) => e instanceof CommandFailedError && e.status === 3 && /exited 3: no/.test(e.message),
    );
    assert.equal((await new ProcessRunner().run("sh", ["-c", "exit 3"], { allowFailure: true })).exitCode, 3);
  });

  it("a time-out kills the process and everything it started: a grandchild holding the pipes neither outlives it nor holds the answer back", async () => {
    const file = join(dir, "timeout.pid");
    const t0 = performance.now();
    await assert.rejects(
      new ProcessRunner().run("sh", ["-c", `sleep 30 & echo $! > ${file}; wait`], { timeoutMs: 300 }),
      (e: unknown) => e instanceof CommandFailedError && /timed out/.test(e.message),
    );
    const took = performance.now() - t0;
    assert.ok(took < 300 + 1000, `answered after ${Math.round(took)} ms`);
    const grandchild = await pidIn(file);
    for (let i = 0; i < 50 && running(grandchild); i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(running(grandchild), false, `the grandchild ${grandchild} was killed`);
  });

  it("a process that leaves a daemon holding its pipes: its own output and status come once the grace period is over", async () => {
    const file = join(dir, "daemon.pid");
    const t0 = performance.now();
    const r = await new ProcessRunner(30_000).run("sh", ["-c", `setsid sleep 30 & echo $! > ${file}; echo started`]);
    const took = performance.now() - t0;
    assert.equal(r.stdout, "started\n");
    assert.equal(r.exitCode, 0);
    assert.ok(took >= EXIT_GRACE_MS - 50 && took < EXIT_GRACE_MS + 1000, `answered after ${Math.round(took)} ms (grace ${EXIT_GRACE_MS} ms)`);
    assert.equal(running(await pidIn(file)), true, "a daemon is not the runner's to kill when the command succeeded");
  });

  it("descendants from /proc: children and their children, not the process itself", () => {
    const me = descendantsOf(process.pid);
    assert.ok(!me.includes(process.pid));
    assert.deepEqual(descendantsOf(2 ** 22 + 1), [], "a pid nobody has: none");
  });
});
