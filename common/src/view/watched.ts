import type { Source } from "./types.ts";

/** What a view wraps: a cache that lists, then keeps itself current. */
export interface Watchable {
  readonly synced: Promise<void>;
  start(): void;
  stop(): void;
}

/**
 * A Source backed by a watcher made at each start (when the caller's onChange is known): synced
 * once that watcher's first list has loaded; stop() stops it. A view started again (a gateway
 * engine made anew on the same view: a leader that paused, or regained its lease) starts from an
 * empty cache, so it is not synced again until the new watcher has listed: a pass run on the
 * empty cache would remove every cable and publish an Endpoint without the cluster's global CIDR.
 */
export abstract class WatchedView<W extends Watchable> implements Source {
  protected watcher: W | undefined;
  #resolve!: () => void;
  #isSynced = false;
  #synced: Promise<void> = this.#pending();

  /** Resolves once the current watcher's first list has loaded (read it after start()). */
  get synced(): Promise<void> {
    return this.#synced;
  }

  /** Whether the current watcher's first list has loaded (synchronously, for passes that skip until then). */
  get isSynced(): boolean {
    return this.#isSynced;
  }

  #pending(): Promise<void> {
    return new Promise((r) => {
      this.#resolve = r;
    });
  }

  /** Builds the watcher that calls `onChange` after each change. */
  protected abstract makeWatcher(onChange: () => void): W;

  start(onChange: () => void): void {
    if (this.watcher) {
      // Started again: the old watcher's cache goes with it. A promise still pending (the old
      // watcher never listed) is kept, for whoever awaits it: the new watcher's list resolves it.
      this.watcher.stop();
      if (this.#isSynced) {
        this.#isSynced = false;
        this.#synced = this.#pending();
      }
    }
    const watcher = this.makeWatcher(onChange);
    this.watcher = watcher;
    void watcher.synced.then(() => {
      // A watcher replaced before it listed does not mark its successor synced.
      if (this.watcher !== watcher) return;
      this.#isSynced = true;
      this.#resolve();
    });
    watcher.start();
  }

  stop(): void {
    this.watcher?.stop();
  }
}
