import { AlreadyExistsError, CompactedError, ConflictError } from "@causeway/api";
import { keyString, sortedRecords, storedRecord, Subscribers } from "./subscribers.ts";
import type { PutOptions, RecordKey, Store, StoredRecord, StoreEvent, StoreKind, Unsubscribe } from "./types.ts";

/** In-memory Store for unit tests; same contract as SqliteStore, nothing durable. */
export class MemoryStore implements Store {
  readonly #records = new Map<string, StoredRecord>();
  #events: StoreEvent[] = [];
  #rev = 0;
  #compacted = 0;
  readonly #subs = new Subscribers();

  async revision(): Promise<number> {
    return this.#rev;
  }

  async get(key: RecordKey): Promise<StoredRecord | undefined> {
    return this.#records.get(keyString(key));
  }

  async list(kind?: StoreKind): Promise<{ records: StoredRecord[]; revision: number }> {
    return { records: sortedRecords(this.#records.values(), kind), revision: this.#rev };
  }

  async put(record: RecordKey & { readonly value: string }, opts: PutOptions = {}): Promise<StoredRecord> {
    const k = keyString(record);
    const old = this.#records.get(k);
    checkCondition(k, old, opts);
    const rev = ++this.#rev;
    const stored = storedRecord(record, rev, old);
    this.#records.set(k, stored);
    this.#commit([{ type: "put", record: stored, revision: rev }]);
    return stored;
  }

  async delete(key: RecordKey, opts: { readonly expectedRevision?: number } = {}) {
    const k = keyString(key);
    const old = this.#records.get(k);
    if (opts.expectedRevision && old?.revision !== opts.expectedRevision) {
      throw new ConflictError(`${k} is at revision ${old?.revision ?? "none"}, expected ${opts.expectedRevision}`);
    }
    if (!old) return { revision: this.#rev, deleted: false };
    const rev = ++this.#rev;
    this.#records.delete(k);
    this.#commit([{ type: "delete", record: { ...old, revision: rev }, revision: rev }]);
    return { revision: rev, deleted: true };
  }

  async deleteCluster(clusterId: string) {
    const events: StoreEvent[] = [];
    for (const [k, r] of [...this.#records]) {
      if (r.clusterId !== clusterId) continue;
      const rev = ++this.#rev;
      this.#records.delete(k);
      events.push({ type: "delete", record: { ...r, revision: rev }, revision: rev });
    }
    this.#commit(events);
    return { revision: this.#rev, deleted: events.length };
  }

  async watch(from: number, kinds: readonly StoreKind[], onEvent: (e: StoreEvent) => void): Promise<Unsubscribe> {
    if (from < this.#compacted) {
      throw new CompactedError(`revision ${from} is compacted (oldest kept: ${this.#compacted})`, this.#compacted);
    }
    const want = new Set(kinds);
    for (const e of this.#events) {
      if (e.revision > from && (want.size === 0 || want.has(e.record.kind))) onEvent(e);
    }
    return this.#subs.add(kinds, onEvent);
  }

  async compact(keep: number): Promise<void> {
    if (this.#events.length <= keep) return;
    const dropped = this.#events.slice(0, this.#events.length - keep);
    this.#events = this.#events.slice(this.#events.length - keep);
    this.#compacted = dropped.at(-1)?.revision ?? this.#compacted;
  }

  async close(): Promise<void> {
    this.#subs.clear();
  }

  #commit(events: StoreEvent[]): void {
    this.#events.push(...events);
    this.#subs.publish(events);
  }
}

export function checkCondition(key: string, old: StoredRecord | undefined, opts: PutOptions): void {
  if (opts.createOnly && old) throw new AlreadyExistsError(`${key} already exists`);
  if (opts.expectedRevision && old?.revision !== opts.expectedRevision) {
    throw new ConflictError(`${key} is at revision ${old?.revision ?? "none"}, expected ${opts.expectedRevision}`);
  }
}
