import { CompactedError, type Kind, parseValue, type ValueOf, type WatchEvent, type WatchEvent_Type, type WireRecord } from "@causeway/api";
import type { Logger } from "../log.ts";
import type { BrokerConnection } from "./client.ts";

/**
 * WatchEvent_Type's values (watcher.test.ts checks them against the generated enum), so that
 * the watcher does not load the generated gRPC module — and grpc-js with it — into programs
 * that only read views (the route agent in Kubernetes mode never talks to the broker).
 */
export const WATCH_EVENT = { PUT: 0, DELETE: 1, BOOKMARK: 2 } as const satisfies Record<string, WatchEvent_Type>;

export interface CachedRecord<K extends Kind = Kind> {
  readonly kind: K;
  readonly clusterId: string;
  readonly name: string;
  readonly value: ValueOf<K>;
  readonly revision: number;
  readonly createRevision: number;
}

export interface WatcherOptions {
  readonly kinds: readonly Kind[];
  readonly log: Logger;
  /** Called (coalesced to one call per microtask burst) after the cache changed. */
  readonly onChange: () => void;
  readonly minBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /**
   * Told when the broker cannot be read (the error; the cache is kept) and when it can again
   * (undefined: a list, an established watch or a watch event after an error); test: the
   * dashboard's feed contract (cli/src/dashboard/feed.test.ts).
   */
  readonly onHealth?: (err: Error | undefined) => void;
  /** Observes every event applied to the cache, in order (for metrics and tests). */
  readonly onApply?: (type: "put" | "delete", record: { kind: string; clusterId: string; name: string }, revision: number) => void;
}

const key = (r: { kind: string; clusterId: string; name: string }) => `${r.kind}/${r.clusterId}/${r.name}`;

/**
 * A local cache of broker records kept current by list-then-watch. After a dropped stream it
 * resumes from the last revision it saw (no loss, no duplicates); if that revision is compacted
 * it relists. Unreachable broker: jittered exponential backoff with one log line per attempt.
 */
export class BrokerWatcher {
  readonly #conn: BrokerConnection;
  readonly #opts: WatcherOptions;
  readonly #cache = new Map<string, CachedRecord>();
  /** The cache again, per kind: items() reads one kind without walking the others (thousands of exports beside a few endpoints). */
  readonly #byKind = new Map<string, Map<string, CachedRecord>>();
  readonly #generation = new Map<string, number>();
  #revision = 0;
  #listed = false;
  #stopped = false;
  #cancel: (() => void) | undefined;
  #timer: NodeJS.Timeout | undefined;
  #attempt = 0;
  #notifyQueued = false;
  #failing = false;
  #resolveSynced!: () => void;
  /** Resolves once the first list has been loaded. */
  readonly synced: Promise<void> = new Promise((r) => {
    this.#resolveSynced = r;
  });

  constructor(conn: BrokerConnection, opts: WatcherOptions) {
    this.#conn = conn;
    this.#opts = opts;
  }

  /** The revision up to which the cache is known to be complete. */
  get revision(): number {
    return this.#revision;
  }

  get isSynced(): boolean {
    return this.#listed;
  }

  /** Cached records of one kind. */
  items<K extends Kind>(kind: K): CachedRecord<K>[] {
    return [...(this.#byKind.get(kind)?.values() ?? [])] as CachedRecord<K>[];
  }

  /** A number that changes whenever a record of `kind` is put or deleted: readers rebuild what they derive from that kind only when it moved. */
  generation(kind: Kind): number {
    return this.#generation.get(kind) ?? 0;
  }

  #set(k: string, rec: CachedRecord): void {
    this.#cache.set(k, rec);
    const m = this.#byKind.get(rec.kind) ?? new Map<string, CachedRecord>();
    this.#byKind.set(rec.kind, m);
    m.set(k, rec);
    this.#generation.set(rec.kind, this.generation(rec.kind) + 1);
  }

  #delete(k: string): void {
    const rec = this.#cache.get(k);
    if (!rec) return;
    this.#cache.delete(k);
    this.#byKind.get(rec.kind)?.delete(k);
    this.#generation.set(rec.kind, this.generation(rec.kind) + 1);
  }

  start(): void {
    void this.#connect();
  }

  stop(): void {
    this.#stopped = true;
    this.#cancel?.();
    if (this.#timer) clearTimeout(this.#timer);
  }

  async #connect(): Promise<void> {
    if (this.#stopped) return;
    try {
      if (!this.#listed) await this.#relist();
      this.#cancel = this.#conn.watch(
        this.#opts.kinds,
        this.#revision,
        (e) => this.#onEvent(e),
        (err) => this.#onError(err),
        () => this.#healthy(),
      );
    } catch (err) {
      this.#onError(err instanceof Error ? err : new Error(String(err)));
    }
  }

  async #relist(): Promise<void> {
    const seen = new Set<string>();
    // One list of every kind: a single revision the cache is consistent with.
    const res = await this.#conn.list("");
    const want = new Set<string>(this.#opts.kinds);
    for (const w of res.records) {
      if (!want.has(w.kind)) continue;
      const rec = this.#parse(w);
      if (!rec) continue;
      seen.add(key(rec));
      this.#set(key(rec), rec);
    }
    for (const k of [...this.#cache.keys()]) if (!seen.has(k)) this.#delete(k);
    this.#revision = res.revision;
    this.#listed = true;
    this.#attempt = 0;
    this.#resolveSynced();
    this.#healthy();
    this.#notify();
  }

  #healthy(): void {
    if (!this.#failing) return;
    this.#failing = false;
    this.#opts.onHealth?.(undefined);
  }

  #parse(w: WireRecord): CachedRecord | undefined {
    try {
      const kind = w.kind as Kind;
      return { kind, clusterId: w.clusterId, name: w.name, value: parseValue(kind, w.valueJson), revision: w.revision, createRevision: w.createRevision };
    } catch (err) {
      this.#opts.log.warn({ record: key(w), err: String(err) }, "ignoring a broker record that fails validation");
      return undefined;
    }
  }

  #onEvent(e: WatchEvent): void {
    this.#attempt = 0;
    this.#healthy();
    if (e.revision <= this.#revision && e.type !== WATCH_EVENT.BOOKMARK) return;
    this.#revision = Math.max(this.#revision, e.revision);
    if (e.type === WATCH_EVENT.BOOKMARK || !e.record) return;
    const k = key(e.record);
    this.#opts.onApply?.(e.type === WATCH_EVENT.DELETE ? "delete" : "put", e.record, e.revision);
    if (e.type === WATCH_EVENT.DELETE) {
      this.#delete(k);
    } else {
      const rec = this.#parse(e.record);
      if (rec) this.#set(k, rec);
    }
    this.#notify();
  }

  #onError(err: Error): void {
    this.#cancel = undefined;
    if (this.#stopped) return;
    if (err instanceof CompactedError) {
      this.#opts.log.info({ revision: this.#revision }, "watch revision compacted at the broker; relisting");
      this.#listed = false;
    } else if (!this.#failing) {
      this.#failing = true;
      this.#opts.onHealth?.(err);
    }
    const min = this.#opts.minBackoffMs ?? 200;
    const max = this.#opts.maxBackoffMs ?? 5_000;
    const delay = Math.min(max, min * 2 ** this.#attempt) * (0.5 + Math.random() / 2);
    this.#attempt++;
    this.#opts.log.warn(
      { broker: this.#conn.address, attempt: this.#attempt, retryInMs: Math.round(delay), err: `${err.name}: ${err.message}` },
      "broker unreachable or watch interrupted; keeping the last view and retrying",
    );
    this.#timer = setTimeout(() => void this.#connect(), delay);
  }

  #notify(): void {
    if (this.#notifyQueued) return;
    this.#notifyQueued = true;
    queueMicrotask(() => {
      this.#notifyQueued = false;
      if (!this.#stopped) this.#opts.onChange();
    });
  }
}
