export type { FdbEntry, NetOp, NetState, ObservedLink, ObservedState, Ownership, Route, Rule, VxlanLink } from "./model.ts";
export { EMPTY_STATE } from "./model.ts";
export { applyOps, plan } from "./plan.ts";
export { FakeNet, IpRoute2Net, type Net, renderOp, type Underlay } from "./net.ts";
export {
  EMPTY_NEXTHOPS,
  FakeNexthops,
  IpNexthops,
  type NexthopGroup,
  type NexthopIds,
  type NexthopMember,
  type NexthopOp,
  type Nexthops,
  type NexthopState,
  parseNexthops,
  planNexthops,
  reconcileNexthops,
  renderNexthopOp,
} from "./nexthop.ts";
export {
  type ChainSpec,
  FakePacketFilter,
  type FilterRule,
  type FilterSnapshot,
  type FilterTable,
  type Hook,
  IptablesPacketFilter,
  type Match,
  type PacketFilter,
  parseSave,
  planFilter,
  renderRule,
  type SetMatch,
  type Target,
} from "./packetfilter.ts";
export {
  FakeNatGuard,
  NAT_GUARD_TABLE,
  type NatGuard,
  type NatGuardSpec,
  natGuardMatches,
  NftNatGuard,
  type ObservedNatGuard,
  parseNatGuard,
  renderNatGuard,
} from "./natguard.ts";
export { FakeSysctl, HOST_PROC_SYS, ProcSysctl, RunnerSysctl, type Sysctl } from "./sysctl.ts";
export { FakeIpSets, IpsetCommand, type IpSets, planSets } from "./ipset.ts";
export { EMPTY_DESIRED, type HostAdapters, type HostDesired, type HostOwnership, HostReconciler, type ReconcileResult } from "./reconciler.ts";
export { type FakeHostAdapters, fakeHostAdapters, realHostAdapters } from "./adapters.ts";
export {
  FakeWireGuard,
  generateWgKeyPair,
  isWgKey,
  onPath,
  parseWgDump,
  type WgConfig,
  type WgKey,
  type WgPeerConfig,
  type WgPeerStatus,
  type WgStatus,
  WgTools,
  wgSetArgs,
  type WireGuard,
  WireGuardUnavailableError,
  wgPublicKeyOf,
} from "./wireguard.ts";
export { KEEPER_UP_TIMEOUT_MS, keeperUp, WG_RUN_DIR, WireGuardKeeper } from "./wgkeeper.ts";
export {
  CLUSTERSET_NAT_TABLE,
  type ClustersetNat,
  type ClustersetNatSpec,
  type ClustersetPort,
  type ClustersetService,
  type ClustersetTarget,
  clustersetNatDigest,
  FakeClustersetNat,
  NftClustersetNat,
  renderClustersetNat,
} from "./clustersetnat.ts";
export { type NftTableModel, NftTable, renderTable, renderTableDelta } from "./nfttable.ts";
export {
  FakeGlobalNat,
  type GlobalExportView,
  globalExportView,
  type GlobalHost,
  type GlobalNat,
  type GlobalNatExpectation,
  type GlobalNatSpec,
  globalNatFindings,
  GLOBALNET_NAT_TABLE,
  globalNatDigest,
  NftGlobalNat,
  parseGlobalNatTable,
  renderGlobalNat,
} from "./globalnat.ts";
export { ConntrackFlows, countFlows, FakeFlows, type FlowCounter, type FlowEntry, parseConntrack } from "./conntrack.ts";
