export { BrokerWatcher, type CachedRecord, type WatcherOptions } from "./watcher.ts";
export { newestPerCluster } from "./endpoints.ts";
export {
  BrokerLeaseElector,
  type BrokerElectorOptions,
  checkLeaseTimings,
  type LeaseClient,
  type LeaseTimings,
  type Role,
  STANDALONE_LEASE,
} from "./election.ts";
