import { gatewayModeOf, gatewaySlotOf } from "@causeway/api";
import type { RemoteCable } from "./cable/driver.ts";

/**
 * How long a remote gateway withdrawn from an active-active cluster that has others keeps its
 * cable here, receive-only. Its Endpoint's deletion reaches this gateway and its own cluster's
 * route agents at about the same time, but they may move their flows to the cluster's other
 * gateways later (a busy node): until they do, a withdrawn gateway whose data path still works
 * (killed -9: its cables live on in the kernel; stopping: it keeps them a moment) still sends
 * their packets here, and WireGuard drops what comes from a peer it no longer has.
 */
export const DRAIN_MS = 5000;

/**
 * Make-before-break on the receiving side: the remote gateways of the last pass that are gone
 * from this one stay, marked draining, for DRAIN_MS — unless their cluster is in active-passive
 * mode (one gateway; its failover is the election's), has no gateway left, or has another
 * gateway in the same slot or on the same node now (one peer per slot and cluster: the new one
 * wins). A gateway that comes back is simply live again.
 */
export class DrainingRemotes {
  readonly #drainMs: number;
  #last: readonly RemoteCable[] = [];
  readonly #draining = new Map<string, { r: RemoteCable; until: number }>();

  constructor(drainMs = DRAIN_MS) {
    this.#drainMs = drainMs;
  }

  /** How long a withdrawn gateway drains. */
  get drainMs(): number {
    return this.#drainMs;
  }

  /** The cables to carry now: `live`, then the draining ones (marked). `now`: ms on a monotonic clock. */
  next(live: readonly RemoteCable[], now: number): RemoteCable[] {
    const names = new Set(live.map((r) => r.endpoint.cable_name));
    for (const r of this.#last)
      if (!names.has(r.endpoint.cable_name) && gatewayModeOf(r.endpoint) === "active-active")
        this.#draining.set(r.endpoint.cable_name, { r, until: now + this.#drainMs });
    this.#last = live;
    for (const [name, { r, until }] of this.#draining) if (names.has(name) || until <= now || displaced(r, live)) this.#draining.delete(name);
    return [...live, ...[...this.#draining.values()].map(({ r }) => ({ ...r, draining: true }))];
  }

  /** Ms from `now` until the next draining cable is due to go (a pass then removes it), or undefined when none drains. */
  dueIn(now: number): number | undefined {
    const untils = [...this.#draining.values()].map((d) => d.until);
    return untils.length ? Math.max(0, Math.min(...untils) - now) : undefined;
  }
}

/** Pure: whether a withdrawn gateway must go at once: its cluster has no live gateway, or one in its slot or on its node. */
function displaced(r: RemoteCable, live: readonly RemoteCable[]): boolean {
  const same = live.filter((x) => x.endpoint.cluster_id === r.endpoint.cluster_id);
  return !same.length || same.some((x) => gatewaySlotOf(x.endpoint) === gatewaySlotOf(r.endpoint) || x.endpoint.hostname === r.endpoint.hostname);
}
