import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { CompactedError, ConflictError } from "@causeway/api";
import { checkCondition } from "./memory.ts";
import { keyString, storedRecord, Subscribers } from "./subscribers.ts";
import type { PutOptions, RecordKey, Store, StoredRecord, StoreEvent, StoreKind, Unsubscribe } from "./types.ts";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta VALUES ('revision', 0), ('compacted', 0);
CREATE TABLE IF NOT EXISTS records (
  kind TEXT NOT NULL, cluster_id TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL,
  revision INTEGER NOT NULL, create_revision INTEGER NOT NULL,
  PRIMARY KEY (kind, cluster_id, name)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
  revision INTEGER PRIMARY KEY, type TEXT NOT NULL, kind TEXT NOT NULL, cluster_id TEXT NOT NULL,
  name TEXT NOT NULL, value TEXT NOT NULL, create_revision INTEGER NOT NULL);
`;

interface Row {
  kind: string;
  cluster_id: string;
  name: string;
  value: string;
  revision: number;
  create_revision: number;
}

function toRecord(r: Row): StoredRecord {
  return {
    kind: r.kind as StoreKind,
    clusterId: r.cluster_id,
    name: r.name,
    value: r.value,
    revision: r.revision,
    createRevision: r.create_revision,
  };
}

/**
 * The default broker store: one SQLite file (node:sqlite) in WAL mode with synchronous=FULL,
 * so every write is on disk before the call resolves. History for watches is the `events`
 * table, trimmed by compact().
 */
type StatementName =
  "meta" | "setMeta" | "get" | "listAll" | "listKind" | "upsert" | "del" | "byCluster" | "event" | "history" | "eventCount" | "trim" | "nthEvent";

export class SqliteStore implements Store {
  readonly #db: DatabaseSync;
  readonly #subs = new Subscribers();
  /** Every statement by name: a misspelt name does not compile (no optional call that silently skips a write). */
  readonly #q: Readonly<Record<StatementName, StatementSync>>;
  #closed = false;

  constructor(path: string) {
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
    this.#db = new DatabaseSync(path);
    this.#db.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=5000;");
    this.#db.exec(SCHEMA);
    const p = (sql: string) => this.#db.prepare(sql);
    this.#q = {
      meta: p("SELECT value FROM meta WHERE key = ?"),
      setMeta: p("UPDATE meta SET value = ? WHERE key = ?"),
      get: p("SELECT * FROM records WHERE kind = ? AND cluster_id = ? AND name = ?"),
      listAll: p("SELECT * FROM records ORDER BY kind, cluster_id, name"),
      listKind: p("SELECT * FROM records WHERE kind = ? ORDER BY cluster_id, name"),
      upsert: p(
        `INSERT INTO records VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (kind, cluster_id, name)
         DO UPDATE SET value = excluded.value, revision = excluded.revision`,
      ),
      del: p("DELETE FROM records WHERE kind = ? AND cluster_id = ? AND name = ?"),
      byCluster: p("SELECT * FROM records WHERE cluster_id = ?"),
      event: p("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?)"),
      history: p("SELECT * FROM events WHERE revision > ? ORDER BY revision"),
      eventCount: p("SELECT COUNT(*) AS n FROM events"),
      trim: p("DELETE FROM events WHERE revision <= ?"),
      nthEvent: p("SELECT revision FROM events ORDER BY revision DESC LIMIT 1 OFFSET ?"),
    } satisfies Record<StatementName, StatementSync>;
  }

  #meta(key: string): number {
    return Number((this.#q.meta.get(key) as { value: number } | undefined)?.value ?? 0);
  }

  #tx<T>(fn: () => { result: T; events: StoreEvent[] }): T {
    this.#db.exec("BEGIN IMMEDIATE");
    let out: { result: T; events: StoreEvent[] };
    try {
      out = fn();
      this.#db.exec("COMMIT");
    } catch (err) {
      this.#db.exec("ROLLBACK");
      throw err;
    }
    this.#subs.publish(out.events);
    return out.result;
  }

  #bump(): number {
    const rev = this.#meta("revision") + 1;
    this.#q.setMeta.run(rev, "revision");
    return rev;
  }

  #logEvent(e: StoreEvent): void {
    const r = e.record;
    this.#q.event.run(e.revision, e.type, r.kind, r.clusterId, r.name, r.value, r.createRevision);
  }

  #get(key: RecordKey): StoredRecord | undefined {
    const row = this.#q.get.get(key.kind, key.clusterId, key.name) as Row | undefined;
    return row ? toRecord(row) : undefined;
  }

  async revision(): Promise<number> {
    return this.#meta("revision");
  }

  async get(key: RecordKey): Promise<StoredRecord | undefined> {
    return this.#get(key);
  }

  async list(kind?: StoreKind): Promise<{ records: StoredRecord[]; revision: number }> {
    const rows = (kind ? this.#q.listKind.all(kind) : this.#q.listAll.all()) as unknown as Row[];
    return { records: rows.map(toRecord), revision: this.#meta("revision") };
  }

  async put(record: RecordKey & { readonly value: string }, opts: PutOptions = {}): Promise<StoredRecord> {
    return this.#tx(() => {
      const old = this.#get(record);
      checkCondition(keyString(record), old, opts);
      const rev = this.#bump();
      const stored = storedRecord(record, rev, old);
      this.#q.upsert.run(stored.kind, stored.clusterId, stored.name, stored.value, rev, stored.createRevision);
      const e: StoreEvent = { type: "put", record: stored, revision: rev };
      this.#logEvent(e);
      return { result: stored, events: [e] };
    });
  }

  async delete(key: RecordKey, opts: { readonly expectedRevision?: number } = {}) {
    return this.#tx(() => {
      const old = this.#get(key);
      if (opts.expectedRevision && old?.revision !== opts.expectedRevision) {
        throw new ConflictError(`${keyString(key)} is at revision ${old?.revision ?? "none"}, expected ${opts.expectedRevision}`);
      }
      if (!old) return { result: { revision: this.#meta("revision"), deleted: false }, events: [] };
      const e = this.#deleteRow(old);
      return { result: { revision: e.revision, deleted: true }, events: [e] };
    });
  }

  #deleteRow(old: StoredRecord): StoreEvent {
    const rev = this.#bump();
    this.#q.del.run(old.kind, old.clusterId, old.name);
    const e: StoreEvent = { type: "delete", record: { ...old, revision: rev }, revision: rev };
    this.#logEvent(e);
    return e;
  }

  async deleteCluster(clusterId: string) {
    return this.#tx(() => {
      const rows = (this.#q.byCluster.all(clusterId) as unknown as Row[]).map(toRecord);
      const events = rows.map((r) => this.#deleteRow(r));
      return { result: { revision: this.#meta("revision"), deleted: events.length }, events };
    });
  }

  async watch(from: number, kinds: readonly StoreKind[], onEvent: (e: StoreEvent) => void): Promise<Unsubscribe> {
    const compacted = this.#meta("compacted");
    if (from < compacted) {
      throw new CompactedError(`revision ${from} is compacted (oldest kept: ${compacted})`, compacted);
    }
    // History and subscription happen in one synchronous step: no commit can slip between them.
    const want = new Set(kinds);
    for (const row of this.#q.history.iterate(from)) {
      const r = row as unknown as Row & { type: "put" | "delete" };
      if (want.size && !want.has(r.kind as StoreKind)) continue;
      onEvent({ type: r.type, record: toRecord(r), revision: r.revision });
    }
    return this.#subs.add(kinds, onEvent);
  }

  async compact(keep: number): Promise<void> {
    const n = (this.#q.eventCount.get() as { n: number }).n;
    if (n <= keep) return;
    const cut = (this.#q.nthEvent.get(keep) as { revision: number } | undefined)?.revision;
    if (cut === undefined) return;
    this.#db.exec("BEGIN IMMEDIATE");
    this.#q.trim.run(cut);
    this.#q.setMeta.run(cut, "compacted");
    this.#db.exec("COMMIT");
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#subs.clear();
    this.#db.close();
  }
}
