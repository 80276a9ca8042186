/** @causeway/common — shared plumbing: logging, subprocesses, broker access, host adapters. */
export { createLogger, F, type Logger, silentLogger } from "./log.ts";
export { CommandFailedError, type CommandResult, type CommandRunner, FakeRunner, NetnsRunner, ProcessRunner, type RunOptions } from "./exec/index.ts";
export {
  type BrokerElectorOptions,
  BrokerLeaseElector,
  BrokerWatcher,
  type CachedRecord,
  checkLeaseTimings,
  type LeaseClient,
  type LeaseTimings,
  newestPerCluster,
  type Role,
  STANDALONE_LEASE,
  type WatcherOptions,
} from "./broker/index.ts";
export * as host from "./host/index.ts";
export {
  connectedVia,
  IMPORT_MANAGED_LABEL,
  IMPORT_MANAGER,
  MANAGED_BY_LABEL,
  MCS_SERVICE_NAME_LABEL,
  MCS_SOURCE_CLUSTER_LABEL,
  SLICE_MANAGER,
} from "./mcs.ts";
export {
  cniIpOf,
  INTRA_CLUSTER_MODES,
  type IntraClusterMode,
  loadSite,
  readToken,
  type Site,
  type SiteNode,
  SiteSchema,
  type SiteService,
  SiteServiceSchema,
  siteNode,
} from "./site.ts";
export { ReconcileLoop, ViewDrivenLoop, type ReconcileLoopOptions, resyncMsFromFlag } from "./loop.ts";
export {
  type KubeContext,
  type KubeMainOptions,
  parseFlags,
  runKubeMain,
  runSiteMain,
  type SiteComponent,
  type SiteContext,
  type SiteMainOptions,
} from "./component.ts";
export * as kube from "./kube/index.ts";
export * as view from "./view/index.ts";
export { METRICS_PORTS, MetricsPortInUseError, metricsPortFromFlag, newRegistry, ProbeServer, type ProbeServerOptions } from "./metrics.ts";
export { sameValue } from "./json.ts";
export { type CheckResult, junitReport } from "./checks.ts";
export {
  byAge,
  type ExportRecord,
  exportOf,
  exportsByService,
  globalView,
  heldGlobalIps,
  type MergedPort,
  mergePorts,
  unlistedExport,
  usableExports,
} from "./exports.ts";
export { CLUSTERSET_DNS_ZONES, COREFILE_MARKERS, CorefileError, corednsStanza, withoutStanza, withStanza } from "./coredns/corefile.ts";
export { assertGolden } from "./golden.ts";
