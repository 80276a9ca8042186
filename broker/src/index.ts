/** @causeway/broker — the clusterset registry. */
export { BrokerCore, type LeaseResult, type RecordInput } from "./core/core.ts";
export { Credentials, type Principal } from "./core/credentials.ts";
export { BrokerGrpcServer, type BrokerServerOptions } from "./server.ts";
export { MemoryStore, SqliteStore, type Store, type StoredRecord, type StoreEvent } from "./store/index.ts";
export { startBroker, type BrokerConfig, BrokerConfigSchema, type RunningBroker } from "./run.ts";
export { type NatsServerSpec, natsServerConfig, startNatsServer } from "./store/natsserver.ts";
