import type { Kind } from "@causeway/api";

/** Kinds a store holds: the public kinds plus broker-internal credentials (never served to clients). */
export type StoreKind = Kind | "credential";

export interface RecordKey {
  readonly kind: StoreKind;
  readonly clusterId: string;
  readonly name: string;
}

export interface StoredRecord extends RecordKey {
  readonly value: string;
  /** Revision of the last write to this record. */
  readonly revision: number;
  /** Revision at which the record was created (survives updates). */
  readonly createRevision: number;
}

export interface StoreEvent {
  readonly type: "put" | "delete";
  /** For deletes: the record as it was, with `revision` set to the delete's revision. */
  readonly record: StoredRecord;
  readonly revision: number;
}

export interface PutOptions {
  /** When non-zero, the write succeeds only if the stored record has this revision. */
  readonly expectedRevision?: number;
  /** When true, the write succeeds only if no record exists under the key. */
  readonly createOnly?: boolean;
}

export type Unsubscribe = () => void;

/**
 * The broker's storage. Every write bumps one store-wide revision, strictly increasing.
 * Implementations: `SqliteStore` (durable, default) and `MemoryStore` (unit-test fake);
 * both pass `storeContract` in contract.test-suite.ts.
 */
export interface Store {
  /** The revision of the last write (0 for an empty store). */
  revision(): Promise<number>;
  /** The record under key, or undefined. */
  get(key: RecordKey): Promise<StoredRecord | undefined>;
  /** All records of one kind (or all kinds), consistent with the returned revision. */
  list(kind?: StoreKind): Promise<{ records: StoredRecord[]; revision: number }>;
  /** Creates or replaces a record; durable before it resolves. Throws ConflictError / AlreadyExistsError on a failed condition. */
  put(record: RecordKey & { readonly value: string }, opts?: PutOptions): Promise<StoredRecord>;
  /** Deletes a record; idempotent (deleted=false when absent). Throws ConflictError if expectedRevision does not match. */
  delete(key: RecordKey, opts?: { readonly expectedRevision?: number }): Promise<{ revision: number; deleted: boolean }>;
  /** Deletes every record owned by a cluster in one transaction; returns how many. */
  deleteCluster(clusterId: string): Promise<{ revision: number; deleted: number }>;
  /**
   * Delivers, in revision order and exactly once, every event with revision > fromRevision
   * (history first, then live) for the given kinds (all when empty). Throws CompactedError when
   * fromRevision is older than the retained history.
   */
  watch(fromRevision: number, kinds: readonly StoreKind[], onEvent: (e: StoreEvent) => void): Promise<Unsubscribe>;
  /** Drops history so that at most `keep` events remain; watches from before it get CompactedError. */
  compact(keep: number): Promise<void>;
  /** Releases resources; idempotent. */
  close(): Promise<void>;
  /** Shared stores (several broker replicas): waits until this replica has applied every write acknowledged anywhere. */
  sync?(): Promise<void>;
}
