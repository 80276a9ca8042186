import type { RecordKey, StoredRecord, StoreEvent, StoreKind, Unsubscribe } from "./types.ts";

interface Subscriber {
  readonly kinds: ReadonlySet<StoreKind>;
  readonly onEvent: (e: StoreEvent) => void;
}

/** Fan-out of committed events to live watchers; shared by the store implementations. */
export class Subscribers {
  readonly #subs = new Set<Subscriber>();

  add(kinds: readonly StoreKind[], onEvent: (e: StoreEvent) => void): Unsubscribe {
    const sub: Subscriber = { kinds: new Set(kinds), onEvent };
    this.#subs.add(sub);
    return () => this.#subs.delete(sub);
  }

  publish(events: readonly StoreEvent[]): void {
    for (const e of events) {
      for (const s of this.#subs) {
        if (s.kinds.size === 0 || s.kinds.has(e.record.kind)) s.onEvent(e);
      }
    }
  }

  clear(): void {
    this.#subs.clear();
  }
}

export function keyString(k: { kind: string; clusterId: string; name: string }): string {
  return `${k.kind}/${k.clusterId}/${k.name}`;
}

/** Pure: the record a put stores — its create revision kept from the record it replaces. */
export function storedRecord(record: RecordKey & { readonly value: string }, revision: number, old: StoredRecord | undefined): StoredRecord {
  return { kind: record.kind, clusterId: record.clusterId, name: record.name, value: record.value, revision, createRevision: old?.createRevision ?? revision };
}

/** Pure: one kind's records (or all), in key order, as list() returns them. */
export function sortedRecords(records: Iterable<StoredRecord>, kind?: StoreKind): StoredRecord[] {
  const out = [...records].filter((r) => !kind || r.kind === kind);
  return out.sort((a, b) => keyString(a).localeCompare(keyString(b)));
}
