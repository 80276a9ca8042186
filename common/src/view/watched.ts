import type { Source } from "./types.ts";

/** What a view wraps: a cache that lists, then keeps itself current. */
export interface Watchable {
  readonly synced: Promise<void>;
  start(): void;
  stop(): void;
}

/**
 * A Source backed by a watcher made at start (when the caller's onChange is known): synced
 * once the watcher's first list has loaded; stop() stops it.
 */
export abstract class WatchedView<W extends Watchable> implements Source {
  protected watcher: W | undefined;
  #resolve!: () => void;
  #isSynced = false;
  readonly synced: Promise<void> = new Promise((r) => {
    this.#resolve = r;
  });

  /** Whether the first list has loaded (synchronously, for passes that skip until then). */
  get isSynced(): boolean {
    return this.#isSynced;
  }

  /** Builds the watcher that calls `onChange` after each change. */
  protected abstract makeWatcher(onChange: () => void): W;

  start(onChange: () => void): void {
    this.watcher = this.makeWatcher(onChange);
    void this.watcher.synced.then(() => {
      this.#isSynced = true;
      this.#resolve();
    });
    this.watcher.start();
  }

  stop(): void {
    this.watcher?.stop();
  }
}
