/** @causeway/gateway — cables between clusters. */
export { CableDrivers, type CableDriver, type CableState, type LocalCable, type RemoteCable } from "./cable/driver.ts";
export { VXLAN_CABLE, VxlanCableDriver, vxlanDesired } from "./cable/vxlan.ts";
export { BrokerSyncer, planSync, type SyncInput, type SyncPlan } from "./sync/syncer.ts";
export { GATEWAY_LEASE, KubeGateway } from "./kube.ts";
export { KubeActiveGateway, kubeSlotLease, SYNCER_LEASE } from "./kubeactive.ts";
export { GatewayEngine, type GatewayDeps, localEndpoint, selectRemotes } from "./engine.ts";
export { peerState, presharedKeyOf, WG_CABLE, WireGuardCableDriver, wireguardDesired } from "./cable/wireguard.ts";
export { discoveryPortOf, fallbackDecision, type NatCounters, type NatDecision, NatDiscovery } from "./nat/discovery.ts";
export { answerRequest, decodeMessage, encodeRequest, encodeResponse, NAT_DISCOVERY_PORT } from "./nat/protocol.ts";
export { parseResolvers, type Resolver, resolvePublicIp } from "./publicip.ts";
export { SiteGateway, type SiteGatewayDeps } from "./standalone.ts";
export { DEFAULT_HEALTH_CHECK, healthCheckOf, HealthChecker, type HealthCheckSettings, type HealthState, mergeHealth } from "./health/checker.ts";
export { FakePingNetwork, type FakeTargetMode } from "./health/fake.ts";
export { icmpPinger, parsePingLine, type PingEvent, type Pinger, type PingerFactory } from "./health/pinger.ts";
export { goDuration, RttStats } from "./health/stats.ts";
export { type ConnectionSample, GatewayMetrics } from "./metrics.ts";
