/**
 * The scale-out broker store: one NATS JetStream key-value bucket shared by every broker
 * replica. The bucket's stream sequence is the store-wide revision (one stream for all kinds,
 * so it is strictly increasing across them); conditions are JetStream's expected-last-subject-
 * sequence checks, so two replicas never both win a compare-and-set.
 *
 * Each replica keeps a mirror of the bucket fed by one ordered consumer (the whole retained
 * history at start, then live): reads, lists and watches are served from it, so a list and its
 * revision are consistent and a watch gets history then live events in revision order. A write
 * resolves once this replica's mirror has applied it (read-your-writes). A watch resumed from a
 * revision whose events the bucket no longer holds (per-key history limit, compaction) gets
 * CompactedError, and the client relists.
 */
import { readFileSync } from "node:fs";
import { checkServerIdentity, type PeerCertificate } from "node:tls";
import { AlreadyExistsError, CompactedError, ConflictError } from "@causeway/api";
import { type JetStreamClient, JetStreamApiError, type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { type KV, KvWatchInclude, type KvWatchEntry, Kvm } from "@nats-io/kv";
import { connect, headers, type NatsConnection, type NodeConnectionOptions } from "@nats-io/transport-node";
import { checkCondition } from "./memory.ts";
import { keyString, sortedRecords, storedRecord, Subscribers } from "./subscribers.ts";
import type { PutOptions, RecordKey, Store, StoredRecord, StoreEvent, StoreKind, Unsubscribe } from "./types.ts";

export interface NatsStoreOptions {
  /** nats://host:port URLs of the NATS cluster (any of them; the client finds the rest). */
  readonly servers: readonly string[];
  /** The bucket (KV_<bucket> stream); default "causeway". */
  readonly bucket?: string;
  /** Stream replicas: 1, or 3 in HA (each write is on a majority before it is acknowledged). */
  readonly replicas?: number;
  /** Versions kept per key (≤ 64): a watch resumes across at most this many changes of one record. */
  readonly history?: number;
  /** Largest record value in bytes. */
  readonly maxValueBytes?: number;
  /** NATS credentials and TLS (user/password or token; `tls.ca` PEM files). */
  readonly user?: string;
  readonly pass?: string;
  readonly token?: string;
  readonly tls?: { readonly caFile?: string; readonly certFile?: string; readonly keyFile?: string };
  /** The connection's name in NATS monitoring. */
  readonly name?: string;
  /** How long a write waits for its acknowledgement and for the mirror to apply it. */
  readonly timeoutMs?: number;
}

/** What a bucket value carries beyond the record's value: its create revision (0: this entry's own revision). */
interface Envelope {
  readonly v: string;
  readonly c: number;
}

const encodeSegment = (s: string) => `_${Buffer.from(s).toString("base64url")}`;
const decodeSegment = (s: string) => Buffer.from(s.slice(1), "base64url").toString();

/** Pure: a record key as a bucket key: `<kind>._<b64url clusterId>._<b64url name>` (any characters survive, none is a wildcard). */
export function bucketKey(k: RecordKey): string {
  return `${k.kind}.${encodeSegment(k.clusterId)}.${encodeSegment(k.name)}`;
}

/** Pure: the record key of a bucket key, or undefined for keys that are not ours. */
export function recordKeyOf(key: string): RecordKey | undefined {
  const parts = key.split(".");
  if (parts.length !== 3 || !parts[1]?.startsWith("_") || !parts[2]?.startsWith("_")) return undefined;
  return { kind: parts[0] as StoreKind, clusterId: decodeSegment(parts[1]), name: decodeSegment(parts[2]) };
}

/**
 * The client's TLS settings: the CA (and a client certificate if given). The client upgrades a
 * socket it already opened, so Node would check the server's certificate against "localhost":
 * it is checked against the configured servers' hosts instead.
 */
function tlsOptions(o: NatsStoreOptions) {
  const tls = o.tls;
  if (!tls) return undefined;
  const hosts = o.servers.map((u) => new URL(u.replace(/^(nats|tls):/, "http:")).hostname);
  const opts = {
    checkServerIdentity: (_host: string, cert: PeerCertificate) =>
      hosts.some((h) => checkServerIdentity(h, cert) === undefined) ? undefined : new Error(`the NATS server's certificate is not for ${hosts.join(", ")}`),
    ...(tls.caFile ? { ca: readFileSync(tls.caFile, "utf8") } : {}),
    ...(tls.certFile ? { cert: readFileSync(tls.certFile, "utf8") } : {}),
    ...(tls.keyFile ? { key: readFileSync(tls.keyFile, "utf8") } : {}),
  };
  return opts;
}

/** Pure (but for reading the TLS files): the client's connection options. */
function connectionOptions(o: NatsStoreOptions): NodeConnectionOptions {
  const tls = tlsOptions(o);
  return {
    servers: [...o.servers],
    name: o.name ?? "causeway-broker",
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    timeout: o.timeoutMs ?? 5000,
    ...(o.user ? { user: o.user, pass: o.pass ?? "" } : {}),
    ...(o.token ? { token: o.token } : {}),
    ...(tls ? { tls } : {}),
  };
}

const WRONG_LAST_SEQUENCE = 10071;
const isWrongLastSequence = (err: unknown) => err instanceof JetStreamApiError && err.code === WRONG_LAST_SEQUENCE;

export class NatsStore implements Store {
  readonly #nc: NatsConnection;
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  readonly #kv: KV;
  readonly #bucket: string;
  readonly #timeoutMs: number;
  /** Live records by keyString; and the last stream sequence per bucket key (puts and deletes: the next write's condition). */
  readonly #records = new Map<string, StoredRecord>();
  readonly #lastSeq = new Map<string, number>();
  #events: StoreEvent[] = [];
  /** Highest stream sequence applied; the mirror is synced once it reached the stream's last sequence at start. */
  #applied = 0;
  /** Revisions below this are no longer fully known (compaction, or sequences the stream dropped before this replica read them). */
  #compacted = 0;
  readonly #subs = new Subscribers();
  readonly #waiters: { rev: number; resolve: () => void }[] = [];
  #closed = false;
  #feed: Promise<void> | undefined;
  #stopFeed: (() => void) | undefined;

  private constructor(nc: NatsConnection, js: JetStreamClient, jsm: JetStreamManager, kv: KV, bucket: string, timeoutMs: number) {
    this.#nc = nc;
    this.#js = js;
    this.#jsm = jsm;
    this.#kv = kv;
    this.#bucket = bucket;
    this.#timeoutMs = timeoutMs;
  }

  /**
   * Connects, creates the bucket if it does not exist (or opens it), and loads the mirror. A
   * cluster that is electing a JetStream leader (a node just restarted) is waited for, up to
   * `openTimeoutMs` (default 60 s).
   */
  static async open(o: NatsStoreOptions & { readonly openTimeoutMs?: number }): Promise<NatsStore> {
    const nc = await connect(connectionOptions(o));
    const end = Date.now() + (o.openTimeoutMs ?? 60_000);
    for (;;) {
      try {
        return await NatsStore.#openOn(nc, o);
      } catch (err) {
        if (Date.now() > end) {
          await nc.close().catch(() => undefined);
          throw err;
        }
        await new Promise((r) => setTimeout(r, 500)); // no JetStream leader yet: try again
      }
    }
  }

  static async #openOn(nc: NatsConnection, o: NatsStoreOptions): Promise<NatsStore> {
    const timeout = o.timeoutMs ?? 5000;
    const js = jetstream(nc, { timeout });
    const jsm = await jetstreamManager(nc, { timeout });
    const bucket = o.bucket ?? "causeway";
    const kv = await new Kvm(js).create(bucket, {
      replicas: o.replicas ?? 1,
      history: o.history ?? 64,
      maxValueSize: o.maxValueBytes ?? 1 << 20,
      description: "Causeway broker records",
    });
    const store = new NatsStore(nc, js, jsm, kv, bucket, timeout);
    await store.#startFeed();
    return store;
  }

  get #stream(): string {
    return `KV_${this.#bucket}`;
  }

  /** Starts the mirror's consumer from the next unapplied sequence; resolves once it caught up with the stream. */
  async #startFeed(): Promise<void> {
    const info = await this.#jsm.streams.info(this.#stream);
    const target = info.state.last_seq;
    const iter = await this.#kv.watch({ key: ">", include: KvWatchInclude.AllHistory, ...(this.#applied ? { resumeFromRevision: this.#applied + 1 } : {}) });
    this.#stopFeed = () => iter.stop();
    const synced = this.#waitApplied(target);
    this.#feed = (async () => {
      for await (const e of iter) this.#apply(e);
    })().then(
      () => this.#restartFeed(),
      () => this.#restartFeed(),
    );
    await synced;
  }

  /** The consumer ended (the connection was lost for good, or the stream went away): start again from where the mirror is. */
  #restartFeed(): void {
    if (this.#closed) return;
    setTimeout(() => {
      if (!this.#closed) void this.#startFeed().catch(() => this.#restartFeed());
    }, 500).unref();
  }

  #apply(e: KvWatchEntry): void {
    if (e.revision <= this.#applied) return; // redelivered after a reconnect
    if (e.revision > this.#applied + 1 && this.#applied > 0) {
      // Sequences the stream no longer holds (a key's older versions, purged markers): a watch from before them cannot resume exactly.
      this.#compacted = Math.max(this.#compacted, e.revision - 1);
    } else if (e.revision > 1 && this.#applied === 0) {
      this.#compacted = e.revision - 1;
    }
    this.#applied = e.revision;
    const key = recordKeyOf(e.key);
    if (key) {
      this.#lastSeq.set(e.key, e.revision);
      const ks = keyString(key);
      const old = this.#records.get(ks);
      if (e.operation === "PUT") {
        const env = JSON.parse(new TextDecoder().decode(e.value)) as Envelope;
        const rec: StoredRecord = { ...key, value: env.v, revision: e.revision, createRevision: env.c || e.revision };
        this.#records.set(ks, rec);
        this.#commit({ type: "put", record: rec, revision: e.revision });
      } else if (old) {
        this.#records.delete(ks);
        this.#commit({ type: "delete", record: { ...old, revision: e.revision }, revision: e.revision });
      }
    }
    while (this.#waiters.length && (this.#waiters[0]?.rev ?? Infinity) <= this.#applied) this.#waiters.shift()?.resolve();
  }

  #commit(ev: StoreEvent): void {
    this.#events.push(ev);
    this.#subs.publish([ev]);
  }

  /** Resolves once the mirror applied revision `rev` (a write of this replica's, or the stream's end at start). */
  #waitApplied(rev: number): Promise<void> {
    if (rev <= this.#applied) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        const i = this.#waiters.indexOf(w);
        if (i >= 0) this.#waiters.splice(i, 1);
        reject(new Error(`the NATS store did not deliver revision ${rev} within ${this.#timeoutMs} ms (applied: ${this.#applied})`));
      }, this.#timeoutMs);
      const w = {
        rev,
        resolve: () => {
          clearTimeout(t);
          resolve();
        },
      };
      this.#waiters.push(w);
      this.#waiters.sort((a, b) => a.rev - b.rev);
    });
  }

  async revision(): Promise<number> {
    return this.#applied;
  }

  async get(key: RecordKey): Promise<StoredRecord | undefined> {
    return this.#records.get(keyString(key));
  }

  async list(kind?: StoreKind): Promise<{ records: StoredRecord[]; revision: number }> {
    return { records: sortedRecords(this.#records.values(), kind), revision: this.#applied };
  }

  /** Publishes one bucket message under the condition that the key's last sequence is `last`; returns its revision once applied here. */
  async #write(key: RecordKey, last: number, body: Envelope | undefined): Promise<number> {
    const subject = `$KV.${this.#bucket}.${bucketKey(key)}`;
    const h = body ? undefined : headers();
    h?.set("KV-Operation", "DEL");
    const opts = { expect: { lastSubjectSequence: last }, ...(h ? { headers: h } : {}), timeout: this.#timeoutMs };
    const data = body ? JSON.stringify(body) : new Uint8Array(0);
    // JetStream without a leader for a moment (a node restarting, an election): the write waits for one, up to the timeout.
    const end = Date.now() + this.#timeoutMs;
    let ack;
    for (;;) {
      try {
        ack = await this.#js.publish(subject, data, opts);
        break;
      } catch (err) {
        if (isWrongLastSequence(err) || Date.now() > end) throw err;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    await this.#waitApplied(ack.seq);
    return ack.seq;
  }

  async put(record: RecordKey & { readonly value: string }, opts: PutOptions = {}): Promise<StoredRecord> {
    const ks = keyString(record);
    const bk = bucketKey(record);
    // An unconditional put retries when another replica wrote the key in between (our mirror was behind).
    for (let attempt = 0; ; attempt++) {
      const old = this.#records.get(ks);
      checkCondition(ks, old, opts);
      try {
        const rev = await this.#write(record, this.#lastSeq.get(bk) ?? 0, { v: record.value, c: old?.createRevision ?? 0 });
        const stored = this.#records.get(ks);
        return stored?.revision === rev ? stored : storedRecord(record, rev, old);
      } catch (err) {
        await this.#lostRace(err, ks, attempt, opts);
      }
    }
  }

  /** A write refused on its condition: the caller's condition failed (thrown), or, unconditional, it waits to catch up and tries again. */
  async #lostRace(err: unknown, ks: string, attempt: number, opts: PutOptions): Promise<void> {
    if (!isWrongLastSequence(err)) throw err;
    if (opts.createOnly) throw new AlreadyExistsError(`${ks} already exists`);
    if (opts.expectedRevision) throw new ConflictError(`${ks} changed: expected revision ${opts.expectedRevision}`);
    if (attempt >= 20) throw new ConflictError(`${ks}: still changing under concurrent writes after ${attempt} attempts`);
    await this.#caughtUp();
  }

  #syncing: Promise<void> | undefined;

  /** Waits until this replica's mirror holds every write acknowledged so far (concurrent callers share one check). */
  sync(): Promise<void> {
    this.#syncing ??= this.#caughtUp().finally(() => {
      this.#syncing = undefined;
    });
    return this.#syncing;
  }

  /** Waits until the mirror applied the stream's current last sequence (after a lost race with another replica). */
  async #caughtUp(): Promise<void> {
    const info = await this.#jsm.streams.info(this.#stream);
    await this.#waitApplied(info.state.last_seq);
  }

  async delete(key: RecordKey, opts: { readonly expectedRevision?: number } = {}): Promise<{ revision: number; deleted: boolean }> {
    const ks = keyString(key);
    for (let attempt = 0; ; attempt++) {
      const old = this.#records.get(ks);
      if (opts.expectedRevision && old?.revision !== opts.expectedRevision) {
        throw new ConflictError(`${ks} is at revision ${old?.revision ?? "none"}, expected ${opts.expectedRevision}`);
      }
      if (!old) return { revision: this.#applied, deleted: false };
      try {
        return { revision: await this.#write(key, old.revision, undefined), deleted: true };
      } catch (err) {
        await this.#lostRace(err, ks, attempt, opts);
      }
    }
  }

  /** Deletes each of the cluster's records (one bucket message each; NATS 2.9 has no multi-message transaction). */
  async deleteCluster(clusterId: string): Promise<{ revision: number; deleted: number }> {
    let deleted = 0;
    let revision = this.#applied;
    for (const r of [...this.#records.values()]) {
      if (r.clusterId !== clusterId) continue;
      const res = await this.delete(r);
      if (res.deleted) {
        deleted++;
        revision = res.revision;
      }
    }
    return { revision, deleted };
  }

  async watch(from: number, kinds: readonly StoreKind[], onEvent: (e: StoreEvent) => void): Promise<Unsubscribe> {
    if (from < this.#compacted) throw new CompactedError(`revision ${from} is compacted (oldest kept: ${this.#compacted})`, this.#compacted);
    const want = new Set(kinds);
    for (const e of this.#events) if (e.revision > from && (want.size === 0 || want.has(e.record.kind))) onEvent(e);
    return this.#subs.add(kinds, onEvent);
  }

  /** Keeps the last `keep` events of this replica's history (the bucket keeps its own per-key history). */
  async compact(keep: number): Promise<void> {
    if (this.#events.length <= keep) return;
    const dropped = this.#events.length - keep;
    this.#compacted = Math.max(this.#compacted, this.#events[dropped - 1]?.revision ?? 0);
    this.#events = this.#events.slice(dropped);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#subs.clear();
    this.#stopFeed?.();
    await this.#nc.drain().catch(() => undefined);
    await this.#feed?.catch(() => undefined);
  }

  /** Removes the bucket and its data (tests). */
  async destroy(): Promise<void> {
    await this.#kv.destroy();
  }
}
