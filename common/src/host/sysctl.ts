import type { CommandRunner } from "../exec/index.ts";
import { readFile, writeFile } from "node:fs/promises";

/** Kernel parameters of the current network namespace (/proc/sys/net/...). */
export interface Sysctl {
  /** Sets key (dotted, e.g. net.ipv4.ip_forward) to value if it differs; idempotent. */
  ensure(key: string, value: string): Promise<void>;
}

export class ProcSysctl implements Sysctl {
  async ensure(key: string, value: string): Promise<void> {
    const path = `/proc/sys/${key.replaceAll(".", "/")}`;
    const cur = (await readFile(path, "utf8")).trim();
    if (cur !== value) await writeFile(path, value);
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
