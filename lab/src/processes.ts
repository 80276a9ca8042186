import { spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import type { CommandRunner } from "@causeway/common";
import { LabError } from "./errors.ts";
import { NODE_COMPILE_CACHE } from "./paths.ts";

export interface LabProcess {
  readonly role: string;
  readonly ns: string;
  readonly pid: number;
  readonly log: string;
  readonly argv: readonly string[];
  /** Environment beyond the lab's own (a workload's NODE_NAME and KUBECONFIG), kept for restarts. */
  readonly env?: Readonly<Record<string, string>>;
  /** Started with nsenter (network namespace only), as restarts must be too. */
  readonly nsenter?: boolean;
}

/**
 * Starts `argv` inside `ns`, detached, output to `log`; `ip netns exec` execs in place, so the pid
 * is the program's. With `nsenter`, only the network namespace changes (ip netns exec also
 * remounts /sys, hiding the cgroup hierarchies containerd and kubelet need).
 */
export function startIn(
  ns: string,
  role: string,
  argv: readonly string[],
  log: string,
  env: Readonly<Record<string, string>> = {},
  o: { nsenter?: boolean } = {},
): LabProcess {
  const fd = openSync(log, "a");
  try {
    const enter = o.nsenter ? ["nsenter", `--net=/var/run/netns/${ns}`, "--"] : ["ip", "netns", "exec", ns];
    const child = spawn(enter[0] ?? "ip", [...enter.slice(1), ...argv], {
      detached: true,
      stdio: ["ignore", fd, fd],
      env: { ...process.env, NODE_COMPILE_CACHE, ...env },
    });
    child.unref();
    if (!child.pid) throw new LabError(`could not start ${role} in ${ns}`);
    return { role, ns, pid: child.pid, log, argv, ...(Object.keys(env).length ? { env } : {}), ...(o.nsenter ? { nsenter: true } : {}) };
  } finally {
    closeSync(fd);
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM, then SIGKILL after `graceMs` if still running. */
export async function stopProcess(pid: number, graceMs = 3000): Promise<void> {
  if (!alive(pid)) return;
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    return;
  }
  const end = Date.now() + graceMs;
  while (alive(pid) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  if (alive(pid)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

/** Every process whose network namespace is `ns` (found by the kernel, not by our records). */
export async function pidsIn(run: CommandRunner, ns: string): Promise<number[]> {
  const out = await run.run("ip", ["netns", "pids", ns], { allowFailure: true });
  return out.stdout.split(/\s+/).filter(Boolean).map(Number);
}

/** Kills everything in the namespaces (wireguard-go daemons included: one left running would keep its device and host-wide control socket), then deletes them. */
export async function destroyNamespaces(run: CommandRunner, names: readonly string[]): Promise<void> {
  for (const ns of names) {
    for (const pid of await pidsIn(run, ns)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone already
      }
    }
  }
  for (const ns of names) {
    for (let i = 0; i < 50 && (await pidsIn(run, ns)).length > 0; i++) await new Promise((r) => setTimeout(r, 20));
    await run.run("ip", ["netns", "del", ns], { allowFailure: true });
  }
}

export async function listNamespaces(run: CommandRunner, prefix: string): Promise<string[]> {
  const out = await run.run("ip", ["netns", "list"]);
  return out.stdout
    .split("\n")
    .map((l) => l.split(" ")[0] ?? "")
    .filter((n) => n.startsWith(prefix));
}
