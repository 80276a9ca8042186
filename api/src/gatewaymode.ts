/**
 * Gateway modes (docs/architecture.md, active-active): one elected active gateway per cluster
 * (active-passive, the default) or every healthy candidate active at once (active-active). An
 * Endpoint declares its cluster's mode and, in active-active mode, its slot in `backend_config`.
 */
import type { Endpoint } from "./resources.ts";

export const GATEWAY_MODES = ["active-passive", "active-active"] as const;
export type GatewayMode = (typeof GATEWAY_MODES)[number];
/** The `backend_config` key of an Endpoint's gateway mode; absent: active-passive (every gateway before active-active). */
export const GATEWAY_MODE_KEY = "gateway-mode";
/** The `backend_config` key of an active-active gateway's slot among its cluster's gateways (1–MAX_GATEWAY_SLOTS): its next-hop id, connection mark and table. */
export const GATEWAY_SLOT_KEY = "gateway-slot";
export const MAX_GATEWAY_SLOTS = 15;
/**
 * The `backend_config` key of an active-active gateway's own globalnet egress address (its slot's
 * of the cluster's egress addresses): the other clusters' gateways route replies to it to that
 * gateway, whose connection tracking holds the translation.
 */
export const GATEWAY_EGRESS_KEY = "global-egress-ip";

export function gatewayModeOf(ep: Endpoint): GatewayMode {
  return ep.backend_config[GATEWAY_MODE_KEY] === "active-active" ? "active-active" : "active-passive";
}

/** The slot an active-active Endpoint declares; undefined when it declares none or one out of range. */
export function gatewaySlotOf(ep: Endpoint): number | undefined {
  const v = ep.backend_config[GATEWAY_SLOT_KEY];
  const n = v !== undefined && /^\d+$/.test(v) ? Number(v) : NaN;
  return n >= 1 && n <= MAX_GATEWAY_SLOTS ? n : undefined;
}

/**
 * Pure: a cluster's active gateways from its Endpoints. The newest Endpoint's mode decides (a
 * cluster moving between modes follows its newest gateway): in active-passive mode the newest
 * alone; in active-active mode every Endpoint that declares active-active and a slot, by slot, the
 * newest keeping a slot two claim.
 */
export function activeGateways(newest: Endpoint | undefined, all: readonly Endpoint[]): Endpoint[] {
  if (!newest) return [];
  if (gatewayModeOf(newest) === "active-passive") return [newest];
  const bySlot = new Map<number, Endpoint>();
  for (const ep of [newest, ...all.filter((e) => e.cable_name !== newest.cable_name)]) {
    const slot = gatewaySlotOf(ep);
    if (gatewayModeOf(ep) === "active-active" && slot !== undefined && !bySlot.has(slot)) bySlot.set(slot, ep);
  }
  return [...bySlot].sort(([a], [b]) => a - b).map(([, ep]) => ep);
}

/** The broker lease of a cluster's one active gateway in standalone active-passive mode (the broker scopes leases to the caller's cluster). */
export const STANDALONE_GATEWAY_LEASE = "gateway";

/** The broker lease that holds active-active slot `slot` of a cluster (standalone mode). */
export const slotLease = (slot: number): string => `gateway-slot-${slot}`;

/** Pure: the broker lease that keeps an Endpoint alive in standalone mode — its slot's in active-active mode, the cluster's election lease otherwise. */
export function endpointLease(ep: Endpoint): string {
  const slot = gatewayModeOf(ep) === "active-active" ? gatewaySlotOf(ep) : undefined;
  return slot === undefined ? STANDALONE_GATEWAY_LEASE : slotLease(slot);
}

/**
 * Pure: what a gateway keys a remote gateway by (NAT discovery, health probes, cable states): the
 * cluster id for a cluster in active-passive mode — its one gateway, whose successor after a
 * failover inherits the key and so the cable at once — and the cable name for each gateway of a
 * cluster in active-active mode.
 */
export function remoteKey(ep: Endpoint): string {
  return gatewayModeOf(ep) === "active-active" ? ep.cable_name : ep.cluster_id;
}

/** Pure: every remote cluster's active gateways (`newest`: the newest Endpoint per cluster; `of`: all of one cluster's), by cluster id, then slot. */
export function remoteGateways(localClusterId: string, newest: ReadonlyMap<string, Endpoint>, of: (clusterId: string) => readonly Endpoint[]): Endpoint[] {
  return [...newest.keys()]
    .filter((id) => id !== localClusterId)
    .sort()
    .flatMap((id) => activeGateways(newest.get(id), of(id)));
}
