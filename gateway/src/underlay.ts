import { readFile } from "node:fs/promises";
import type { Logger } from "@causeway/common";

/** How often the underlay link is looked at (a file read; no process). */
export const UNDERLAY_POLL_MS = 100;

/**
 * Reads a link's operational state from sysfs (`/sys/class/net/<dev>/operstate`): a file read
 * rather than a process through the host adapters, since it runs ten times a second. sysfs
 * shows the network namespace it was mounted in: `ip netns exec` mounts the namespace's own,
 * and a hostNetwork pod sees the host's. "unknown" (devices without carrier reporting) is up.
 */
export async function sysfsLinkUp(dev: string): Promise<boolean> {
  try {
    const state = (await readFile(`/sys/class/net/${dev}/operstate`, "utf8")).trim();
    return state === "up" || state === "unknown";
  } catch {
    return false; // the device is gone
  }
}

export interface UnderlayWatchOptions {
  /** The interface carrying the gateway's private IP. */
  readonly dev: string;
  readonly log: Logger;
  /** Called on every change, in order (the next look waits until it returns). */
  readonly onChange: (up: boolean) => Promise<void> | void;
  readonly isUp?: (dev: string) => Promise<boolean>;
  readonly intervalMs?: number;
}

/**
 * Watches the gateway node's underlay link. A gateway whose link is down cannot carry cables
 * whatever its lease says — in Kubernetes mode it may still reach the API server over another
 * network and keep the Lease forever — so it withdraws from the election until the link is back.
 */
export class UnderlayWatch {
  readonly #o: UnderlayWatchOptions;
  #up = true;
  #timer: NodeJS.Timeout | undefined;
  #stopped = true;

  constructor(o: UnderlayWatchOptions) {
    this.#o = o;
  }

  get up(): boolean {
    return this.#up;
  }

  start(): void {
    this.#stopped = false;
    this.#schedule();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => void this.#look().finally(() => this.#schedule()), this.#o.intervalMs ?? UNDERLAY_POLL_MS);
  }

  async #look(): Promise<void> {
    const up = await (this.#o.isUp ?? sysfsLinkUp)(this.#o.dev);
    if (up === this.#up || this.#stopped) return;
    this.#up = up;
    if (up) this.#o.log.info({ dev: this.#o.dev }, "underlay link up: back in the gateway election");
    else this.#o.log.warn({ dev: this.#o.dev }, "underlay link down: this gateway withdraws from the election (cables removed)");
    await this.#o.onChange(up);
  }
}
