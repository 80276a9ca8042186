export { MemoryStore } from "./memory.ts";
export { SqliteStore } from "./sqlite.ts";
export type { PutOptions, RecordKey, Store, StoredRecord, StoreEvent, StoreKind, Unsubscribe } from "./types.ts";
