import { errorMessage, ValidationError } from "@causeway/api";
import type { Logger } from "./log.ts";
import type { Source } from "./view/types.ts";

export interface ReconcileLoopOptions {
  readonly name: string;
  /** One full pass: observe, plan, apply. Must be safe to repeat. */
  readonly run: () => Promise<void>;
  readonly log: Logger;
  /** Full resync period (repairs drift even without events). */
  readonly resyncMs: number;
  readonly minBackoffMs?: number;
  readonly maxBackoffMs?: number;
}

/**
 * Drives a level-triggered reconcile: triggers coalesce, at most one pass runs at a time, a
 * failed pass is retried with exponential backoff, and a full pass runs every resyncMs.
 */
export class ReconcileLoop {
  readonly #o: ReconcileLoopOptions;
  #running: Promise<void> | undefined;
  #dirty = false;
  #timer: NodeJS.Timeout | undefined;
  #resync: NodeJS.Timeout | undefined;
  #failures = 0;
  #stopped = true;
  /** Passes completed successfully (for tests and metrics). */
  passes = 0;

  constructor(o: ReconcileLoopOptions) {
    this.#o = o;
  }

  start(): void {
    this.#stopped = false;
    this.#resync = setInterval(() => this.trigger(), this.#o.resyncMs);
    this.trigger();
  }

  /** Requests a pass soon; many triggers before it starts collapse into one. */
  trigger(): void {
    if (this.#stopped) return;
    this.#dirty = true;
    if (!this.#running && !this.#timer) this.#timer = setTimeout(() => this.#pump(), 0);
  }

  /** Stops scheduling and waits for a pass in flight. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#resync) clearInterval(this.#resync);
    this.#timer = undefined;
    await this.#running;
  }

  #pump(): void {
    this.#timer = undefined;
    if (this.#stopped || this.#running || !this.#dirty) return;
    this.#dirty = false;
    this.#running = this.#o
      .run()
      .then(
        () => {
          this.#failures = 0;
          this.passes++;
        },
        (err: unknown) => {
          this.#failures++;
          this.#dirty = true;
          const delay = Math.min(this.#o.maxBackoffMs ?? 10_000, (this.#o.minBackoffMs ?? 250) * 2 ** (this.#failures - 1));
          this.#o.log.error({ loop: this.#o.name, attempt: this.#failures, retryInMs: delay, err: errorMessage(err) }, "reconcile failed; retrying");
          if (!this.#stopped) this.#timer = setTimeout(() => this.#pump(), delay);
        },
      )
      .finally(() => {
        this.#running = undefined;
        if (this.#dirty && !this.#timer && !this.#stopped) this.#timer = setTimeout(() => this.#pump(), 0);
      });
  }
}

/**
 * A reconcile loop driven by views (broker, API server, site file): every change triggers a
 * pass, and no pass runs before every view has its first full picture (knowing nothing, a pass
 * must not prune).
 */
export class ViewDrivenLoop {
  readonly loop: ReconcileLoop;
  readonly #sources: readonly Source[];
  #stopped = false;

  constructor(sources: readonly Source[], o: ReconcileLoopOptions) {
    this.loop = new ReconcileLoop(o);
    this.#sources = sources;
  }

  start(): void {
    for (const s of this.#sources) s.start(() => this.loop.trigger());
    // Stopped before every view had its first picture: the loop never starts (it would run on, its timers alive).
    void Promise.all(this.#sources.map((s) => s.synced)).then(() => {
      if (!this.#stopped) this.loop.start();
    });
  }

  /** Stops the views and waits for a pass in flight; a loop whose views sync later does not start. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const s of this.#sources) s.stop();
    await this.loop.stop();
  }
}

/** The resync period from a --resync-seconds flag value, in ms; throws naming the flag unless it is a number ≥ 1. */
export function resyncMsFromFlag(value: string | undefined): number {
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds < 1) throw new ValidationError(`--resync-seconds must be a number ≥ 1, got "${value}"`);
  return seconds * 1000;
}
