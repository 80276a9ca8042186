export { BrokerConnection, type BrokerConnectionOptions } from "./client.ts";
export { BrokerWatcher, type CachedRecord, type WatcherOptions } from "./watcher.ts";
export { newestPerCluster } from "./endpoints.ts";
