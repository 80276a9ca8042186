import type { CommandRunner } from "../exec/index.ts";
import { access, readFile, writeFile } from "node:fs/promises";
import { HostStateError } from "../errors.ts";

/** Kernel parameters of the current network namespace (/proc/sys/net/...). */
export interface Sysctl {
  /** Sets key (dotted, e.g. net.ipv4.ip_forward) to value if it differs; idempotent. */
  ensure(key: string, value: string): Promise<void>;
}

/** Where a DaemonSet mounts the node's /proc/sys/net (hostPath) for containers that are not privileged. */
export const HOST_PROC_SYS = "/host/proc/sys";

/**
 * /proc/sys of this process's network namespace. A container that is not privileged sees
 * /proc/sys read-only; the node's /proc/sys/net mounted at /host/proc/sys/net stands in for
 * writes (net sysctls act on the writer's network namespace, the node's under hostNetwork).
 */
export class ProcSysctl implements Sysctl {
  readonly #roots: readonly [string, string];
  constructor(root = "/proc/sys", fallback = HOST_PROC_SYS) {
    this.#roots = [root, fallback];
  }

  async ensure(key: string, value: string): Promise<void> {
    const rel = key.replaceAll(".", "/");
    const [root, fallback] = this.#roots;
    const cur = (await readFile(`${root}/${rel}`, "utf8")).trim();
    if (cur === value) return;
    try {
      await writeFile(`${root}/${rel}`, value);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== "EROFS" && code !== "EACCES" && code !== "EPERM") throw err;
      const mounted = await access(`${fallback}/${rel}`).then(
        () => true,
        () => false,
      );
      if (!mounted)
        throw new HostStateError(
          `cannot set ${key}=${value}: ${root} is read-only in this container (${code}) and the node's /proc/sys/net is not mounted at ${fallback}/net — ` +
            `mount it (hostPath, as causeway join's DaemonSets do), or set ${key}=${value} on the node`,
        );
      await writeFile(`${fallback}/${rel}`, value);
    }
  }
}

/** Sysctls of another namespace, through a command runner (`sysctl -n` / `sysctl -w`). */
export class RunnerSysctl implements Sysctl {
  readonly #run: CommandRunner;
  constructor(run: CommandRunner) {
    this.#run = run;
  }
  async ensure(key: string, value: string): Promise<void> {
    const cur = (await this.#run.run("sysctl", ["-n", key])).stdout.trim();
    if (cur !== value) await this.#run.run("sysctl", ["-q", "-w", `${key}=${value}`]);
  }
}

export class FakeSysctl implements Sysctl {
  readonly values = new Map<string, string>();
  async ensure(key: string, value: string): Promise<void> {
    this.values.set(key, value);
  }
}
