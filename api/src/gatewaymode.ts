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
