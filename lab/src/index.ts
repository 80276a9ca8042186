/** @causeway/lab — the network-namespace lab as a library: clusters of namespaces on one Linux host running the real Causeway processes, and the lab side of verify, diagnose, gather and benchmark. */
export { Lab } from "./lab.ts";
export type { LabCluster, LabState } from "./state.ts";
export type { UpOptions } from "./options.ts";
export type { LabConnection } from "./status.ts";
export { LabError } from "./errors.ts";
export { LAB_MEMORY_ROOT, LAB_ROOT, labMemoryDir, REPO_ROOT } from "./paths.ts";
export { type ClusterSpec, clusterSpec, LAB, type NodeSpec } from "./topology.ts";
export { until } from "./until.ts";
export { alive, destroyNamespaces, type LabProcess, stopProcess } from "./processes.ts";
export { ApiServer, kubeApiServerBinary } from "./apiserver.ts";
export { apiServerOf } from "./kube.ts";
export { coreDnsBinary } from "./dns.ts";
export {
  activeGateway,
  assertResumed,
  cableRoutes,
  endpointNodes,
  FAILURE_KINDS,
  OUTAGE_BOUND_MS,
  KUBE_LINK_OUTAGE_BOUND_MS,
  type FailureKind,
  failGateway,
  haStatuses,
  partitionFromBroker,
  type ProbeResult,
  Probes,
  recoverGateway,
  waitFailover,
} from "./failover.ts";
export { verifyLab } from "./verify.ts";
export { podPids, waitWorkloadsReady } from "./realnodes.ts";
export { diagnoseFirewall, diagnoseGlobalnet } from "./diagnose.ts";
export { benchmarkLab, gatherLab } from "./gather.ts";
export {
  bucketCounts,
  type CableBytes,
  cableBytes,
  cableBytesOf,
  cableDelta,
  flowGateway,
  groupBuckets,
  type FlowsResult,
  tcpFlows,
  KUBE_WG_DEVICE,
  VXLAN_CABLE_DEVICE,
} from "./spread.ts";
export { componentLogFiles, linesBetween, logsAround, outageLogs } from "./logs.ts";
export { gatewayConnections, missingPairs, runningGateways } from "./status.ts";
