import { errorMessage, formatIssues } from "@causeway/api";
import type { z } from "zod";
import type { Logger } from "../log.ts";
import type { KubeClient, ObjectMeta, RawWatchEvent, ResourceType } from "./client.ts";
import { KubeGoneError } from "./errors.ts";

export interface KubeWatcherOptions<S extends z.ZodType<{ metadata: ObjectMeta }>> {
  readonly client: KubeClient;
  readonly type: ResourceType;
  /** Only this namespace; all namespaces when absent. */
  readonly namespace?: string;
  readonly labelSelector?: string;
  /** Every object is validated with this schema; invalid ones are logged and left out. */
  readonly schema: S;
  readonly log: Logger;
  /** Called (coalesced to one call per burst) after the cache changed. */
  readonly onChange?: () => void;
  readonly minBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** Server-side watch timeout; the watcher then re-watches from where it was. Default 300 s. */
  readonly watchTimeoutSeconds?: number;
}

/** The watcher's health: synced once listed; connected while a watch stream is open. */
export interface WatcherHealth {
  readonly synced: boolean;
  readonly connected: boolean;
  /** Consecutive failed attempts since the last good answer. */
  readonly failures: number;
  readonly lastError: string | undefined;
}

const keyOf = (m: ObjectMeta): string => `${m.namespace ?? ""}/${m.name}`;

/**
 * A validated local cache of one resource type (CONVENTIONS 9): list, then watch from the
 * list's resourceVersion; a dropped stream re-watches from the last version seen; 410 Gone
 * relists; an unreachable server is retried with jittered exponential backoff, keeping the
 * last view. Handlers see only objects that passed the schema.
 */
export class KubeWatcher<S extends z.ZodType<{ metadata: ObjectMeta }>> {
  readonly #o: KubeWatcherOptions<S>;
  readonly #cache = new Map<string, z.infer<S>>();
  #rv = "";
  #listed = false;
  #connected = false;
  #stopped = false;
  #failures = 0;
  #lastError: string | undefined;
  #cancel: (() => void) | undefined;
  #timer: NodeJS.Timeout | undefined;
  #notifyQueued = false;
  #watchStarted = 0;
  #resolveSynced!: () => void;
  /** Resolves once the first list has been loaded. */
  readonly synced: Promise<void> = new Promise((r) => {
    this.#resolveSynced = r;
  });

  constructor(o: KubeWatcherOptions<S>) {
    this.#o = o;
  }

  get health(): WatcherHealth {
    return { synced: this.#listed, connected: this.#connected, failures: this.#failures, lastError: this.#lastError };
  }

  /** The cached objects (validated), in no particular order. */
  items(): z.infer<S>[] {
    return [...this.#cache.values()];
  }

  get(namespace: string | undefined, name: string): z.infer<S> | undefined {
    return this.#cache.get(`${namespace ?? ""}/${name}`);
  }

  start(): void {
    this.#stopped = false;
    void this.#run();
  }

  stop(): void {
    this.#stopped = true;
    this.#cancel?.();
    this.#cancel = undefined;
    this.#connected = false;
    if (this.#timer) clearTimeout(this.#timer);
  }

  async #run(): Promise<void> {
    if (this.#stopped) return;
    try {
      if (!this.#listed) await this.#relist();
      if (this.#stopped) return;
      this.#connected = true;
      this.#watchStarted = Date.now();
      this.#cancel = this.#o.client.watch(
        this.#o.type,
        this.#o.namespace,
        { resourceVersion: this.#rv, timeoutSeconds: this.#o.watchTimeoutSeconds, labelSelector: this.#o.labelSelector },
        (e) => this.#onEvent(e),
        (err) => this.#onClose(err),
      );
    } catch (err) {
      this.#onClose(err instanceof Error ? err : new Error(String(err)));
    }
  }

  async #relist(): Promise<void> {
    const res = await this.#o.client.list<unknown>(this.#o.type, this.#o.namespace, { labelSelector: this.#o.labelSelector });
    const next = new Map<string, z.infer<S>>();
    for (const raw of res.items) {
      const obj = this.#parse(raw);
      if (obj) next.set(keyOf(obj.metadata), obj);
    }
    const changed = next.size !== this.#cache.size || [...next].some(([k, v]) => this.#cache.get(k)?.metadata.resourceVersion !== v.metadata.resourceVersion);
    this.#cache.clear();
    for (const [k, v] of next) this.#cache.set(k, v);
    this.#rv = res.resourceVersion;
    this.#failures = 0;
    this.#lastError = undefined;
    if (!this.#listed) {
      this.#listed = true;
      this.#resolveSynced();
      this.#notify();
    } else if (changed) {
      this.#notify();
    }
  }

  #parse(raw: unknown): z.infer<S> | undefined {
    const res = this.#o.schema.safeParse(raw);
    if (res.success) return res.data;
    const name = (raw as { metadata?: ObjectMeta }).metadata;
    this.#o.log.warn(
      { kind: this.#o.type.kind, object: name ? keyOf(name) : "?", issues: formatIssues(res.error) },
      "ignoring an object that fails validation",
    );
    return undefined;
  }

  #onEvent(e: RawWatchEvent): void {
    this.#failures = 0;
    this.#lastError = undefined;
    const meta = (e.object as { metadata?: ObjectMeta }).metadata;
    if (meta?.resourceVersion) this.#rv = meta.resourceVersion;
    if (e.type === "BOOKMARK" || !meta) return;
    if (e.type === "DELETED") {
      if (this.#cache.delete(keyOf(meta))) this.#notify();
      return;
    }
    const obj = this.#parse(e.object);
    if (obj) this.#cache.set(keyOf(meta), obj);
    else this.#cache.delete(keyOf(meta));
    this.#notify();
  }

  #onClose(err?: Error): void {
    this.#cancel = undefined;
    this.#connected = false;
    if (this.#stopped) return;
    if (!err && Date.now() - this.#watchStarted >= 1000) {
      // The server ended the watch (its timeout): continue from the last version at once.
      void this.#run();
      return;
    }
    // A stream that ends at once without an error is retried with backoff, never in a tight loop.
    err ??= new Error("watch stream ended at once");
    if (err instanceof KubeGoneError) {
      this.#o.log.info({ kind: this.#o.type.kind, resourceVersion: this.#rv }, "watch version expired at the API server; relisting");
      this.#listed = false;
      void this.#run();
      return;
    }
    const min = this.#o.minBackoffMs ?? 200;
    const max = this.#o.maxBackoffMs ?? 5_000;
    const delay = Math.min(max, min * 2 ** this.#failures) * (0.5 + Math.random() / 2);
    this.#failures++;
    this.#lastError = errorMessage(err);
    this.#o.log.warn(
      { kind: this.#o.type.kind, attempt: this.#failures, retryInMs: Math.round(delay), err: `${err.name}: ${err.message}` },
      "API server unreachable or watch failed; keeping the last view and retrying",
    );
    this.#timer = setTimeout(() => void this.#run(), delay);
  }

  #notify(): void {
    if (this.#notifyQueued || !this.#o.onChange) return;
    this.#notifyQueued = true;
    queueMicrotask(() => {
      this.#notifyQueued = false;
      if (!this.#stopped) this.#o.onChange?.();
    });
  }
}
