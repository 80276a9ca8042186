/** Kubernetes access: one client, one typed watcher, typed errors (CONVENTIONS 9). */
export {
  apiVersionOf,
  KubeClient,
  type KubeClientOptions,
  type KubeObject,
  type ListResult,
  type ObjectMeta,
  type RawWatchEvent,
  resourcePath,
  type ResourceType,
  SOCKET_EXTENSION,
} from "./client.ts";
export {
  KubeConfigError,
  KubeConflictError,
  KubeError,
  kubeErrorFromResponse,
  KubeForbiddenError,
  KubeGoneError,
  KubeInvalidError,
  KubeNotFoundError,
  type KubeRequestInfo,
  KubeSchemaError,
  KubeUnauthorizedError,
  KubeUnreachableError,
  permissionOf,
} from "./errors.ts";
export { crdType, R } from "./types.ts";
export { LeaseElector, type LeaseElectorOptions, type LeaseObject, type LeaseRecord, microTime } from "./election.ts";
export { KubeWatcher, type KubeWatcherOptions, type WatcherHealth } from "./watcher.ts";
export {
  BROKER_SECRET,
  checkCrds,
  CABLE_SECRET_KEY,
  CONFIG_MAP,
  CrdMismatchError,
  type JoinedCluster,
  loadJoinedCluster,
  uninstallRequested,
} from "./config.ts";
