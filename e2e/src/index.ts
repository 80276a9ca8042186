/** @causeway/e2e — the lab (clusters of network namespaces) and scenario helpers. */
export { Lab, LAB_ROOT, type LabCluster, type LabState, REPO_ROOT, type UpOptions } from "./lab/lab.ts";
export { type ClusterSpec, clusterSpec, LAB, type NodeSpec } from "./lab/topology.ts";
export { until } from "./lab/until.ts";
export {
  activeGateway,
  assertResumed,
  cableRoutes,
  FAILURE_KINDS,
  type FailureKind,
  failGateway,
  haStatuses,
  partitionFromBroker,
  type ProbeResult,
  Probes,
  recoverGateway,
  waitFailover,
} from "./lab/failover.ts";
export { type CheckResult, junitReport, verifyLab } from "./lab/verify.ts";
export { diagnoseFirewall } from "./lab/diagnose.ts";
export { benchmarkLab, gatherKube, gatherLab } from "./lab/gather.ts";
