/**
 * A gateway candidate in active-active mode, standalone (docs/architecture.md, active-active):
 * instead of competing for the cluster's one election lease, every candidate claims a **slot**
 * (1–MAX_GATEWAY_SLOTS) by holding the broker lease `gateway-slot-<n>`, runs the gateway engine
 * with that slot while it holds it, and publishes an Endpoint declaring the mode and slot. The
 * lease is its liveness: whoever holds a slot removes the Endpoints of its cluster whose lease is
 * gone or held by another node, so a crashed gateway's Endpoint goes within two lease durations
 * (gateway/src/activeactive.test.ts) and with it from the route agents' next-hop groups. Not yet
 * selectable: no flag or site-file field starts this mode (docs/architecture.md, active-active).
 */
import { type Endpoint, errorMessage, gatewayModeOf, gatewaySlotOf, type LeaseResponse, MAX_GATEWAY_SLOTS } from "@causeway/api";
import { BrokerLeaseElector, type Role, type SiteComponent } from "@causeway/common";
import { dropCables, GatewayEngine, passiveStatus } from "./engine.ts";
import { Fence } from "./fence.ts";
import { type SiteGatewayDeps, STANDALONE_GATEWAY_LEASE } from "./standalone.ts";

/** The broker lease that holds active-active slot `slot` of a cluster (the broker scopes leases to the caller's cluster). */
export const slotLease = (slot: number): string => `gateway-slot-${slot}`;

/** Pure: the lease that keeps an Endpoint alive — its slot's in active-active mode, the cluster's election lease otherwise. */
export function endpointLease(ep: Endpoint): string {
  const slot = gatewayModeOf(ep) === "active-active" ? gatewaySlotOf(ep) : undefined;
  return slot === undefined ? STANDALONE_GATEWAY_LEASE : slotLease(slot);
}

/** Pure: the slots a candidate tries, in order — the one it held last first, then 1, 2, … */
export function slotOrder(preferred?: number): number[] {
  const all = Array.from({ length: MAX_GATEWAY_SLOTS }, (_, i) => i + 1);
  return preferred !== undefined && all.includes(preferred) ? [preferred, ...all.filter((s) => s !== preferred)] : all;
}

/**
 * Pure: whether another node's Endpoint of this cluster is stale, from the answer to acquiring
 * its lease as `me`: taken (nobody held it: its gateway is gone), or held by a node other than
 * the Endpoint's. `ownLease`: the Endpoint claims the lease this gateway holds (stale, not asked).
 */
export function staleEndpoint(ep: Endpoint, answer: LeaseResponse | "own-lease"): string | undefined {
  if (answer === "own-lease") return "it claims this gateway's slot";
  if (answer.held) return `its lease ${endpointLease(ep)} is free: its gateway is gone`;
  if (answer.holder !== ep.hostname) return `its lease ${endpointLease(ep)} is held by ${answer.holder}`;
  return undefined;
}

/** How long a stopping gateway waits, its Endpoint withdrawn, before its cables go: the route agents move its flows to the others first. */
export const WITHDRAW_SETTLE_MS = 500;

export class SiteActiveGateway implements SiteComponent {
  readonly #d: SiteGatewayDeps;
  #elector: BrokerLeaseElector | undefined;
  #slot: number | undefined;
  #engine: GatewayEngine | undefined;
  #fence: Fence | undefined;
  #search: NodeJS.Timeout | undefined;
  #reaper: NodeJS.Timeout | undefined;
  #reaping: Promise<void> = Promise.resolve();
  #transition: Promise<void> = Promise.resolve();
  #mayHaveCables = true;
  #noSlotLogged = false;
  #stopped = false;

  constructor(d: SiteGatewayDeps) {
    this.#d = d;
  }

  /** leader while it holds a slot (active), unsure while it cannot renew it, follower otherwise. */
  get role(): Role {
    return this.#elector?.role ?? "follower";
  }

  /** The slot this gateway holds, or undefined. */
  get slot(): number | undefined {
    return this.#elector?.role === "leader" ? this.#slot : undefined;
  }

  start(): void {
    this.#scheduleSearch(0);
  }

  #queue(step: () => Promise<void>): Promise<void> {
    const next = this.#transition.then(step);
    this.#transition = next.catch(() => undefined);
    return next;
  }

  #scheduleSearch(ms: number): void {
    if (this.#stopped) return;
    clearTimeout(this.#search);
    this.#search = setTimeout(() => void this.#queue(() => this.#searchRound()), ms);
  }

  /** Tries the slots in order and claims the first the broker gives; none: tries again after a retry period. */
  async #searchRound(): Promise<void> {
    if (this.#stopped || this.#elector) return;
    const { leases, election, nodeName, log } = this.#d;
    const ask = (slot: number, how: "renew" | "acquire") =>
      how === "renew"
        ? leases.renewLease(slotLease(slot), nodeName, election.leaseDurationMs, election.renewDeadlineMs)
        : leases.acquireLease(slotLease(slot), nodeName, election.leaseDurationMs, election.renewDeadlineMs);
    try {
      // A slot this node still holds first (a restart within the lease keeps its slot), then the lowest free one.
      for (const how of ["renew", "acquire"] as const) for (const slot of slotOrder(this.#slot)) if ((await ask(slot, how)).held) return this.#claim(slot);
      if (!this.#noSlotLogged) log.warn({ slots: MAX_GATEWAY_SLOTS }, "every active-active gateway slot of this cluster is held: this candidate stands by");
      this.#noSlotLogged = true;
    } catch (err) {
      log.debug({ err: errorMessage(err) }, "gateway slot search: broker unreachable");
    }
    this.#scheduleSearch(election.retryPeriodMs);
  }

  /** Holds `slot` from now on: an elector on its lease renews it and says when it is lost. */
  #claim(slot: number): void {
    this.#noSlotLogged = false;
    this.#slot = slot;
    this.#elector = new BrokerLeaseElector({
      ...this.#d.election,
      client: this.#d.leases,
      name: slotLease(slot),
      identity: this.#d.nodeName,
      log: this.#d.log,
      onRole: (role) => this.#queue(() => this.#become(role, slot)),
    });
    this.#elector.start();
  }

  async #become(role: Role, slot: number): Promise<void> {
    const { log, nodeName } = this.#d;
    try {
      if (role === "leader") {
        if (this.#engine) return;
        this.#fence = new Fence();
        this.#engine = new GatewayEngine({ ...this.#d, gatewaySlot: slot, sink: this.#fence.sink(this.#d.sink), driver: this.#fence.driver(this.#d.driver) });
        this.#mayHaveCables = true;
        this.#engine.start();
        this.#startReaper();
        log.info({ node: nodeName, slot }, "gateway active (active-active)");
        return;
      }
      await this.#pause();
      if (role === "unsure") {
        log.warn({ node: nodeName, slot }, "broker unreachable past the renew deadline: gateway engine paused, cables kept");
        return;
      }
      // The slot is another's now (this gateway was cut off past its lease): it publishes its own
      // Endpoint for the slot. Ours stands down, then looks for a slot again. Not awaited: the
      // elector's round is waiting for this step.
      void this.#elector?.stop();
      this.#elector = undefined;
      this.#slot = undefined;
      if (this.#mayHaveCables) await dropCables(this.#d);
      this.#mayHaveCables = false;
      await this.#d.sink.putStatus(nodeName, passiveStatus(this.#d.version));
      log.info({ node: nodeName, slot }, "gateway slot lost: passive, looking for a slot again");
      this.#scheduleSearch(this.#d.election.retryPeriodMs);
    } catch (err) {
      log.error({ role, err: errorMessage(err) }, "gateway role change failed");
    }
  }

  /** Stops the engine and the reaper; cables stay. */
  async #pause(): Promise<void> {
    clearInterval(this.#reaper);
    this.#fence?.raise();
    await this.#engine?.stop();
    this.#engine = undefined;
    await this.#reaping;
  }

  #startReaper(): void {
    clearInterval(this.#reaper);
    this.#reaper = setInterval(() => {
      this.#reaping = this.#reaping
        .then(async () => void (await this.reap()))
        .catch((err: unknown) => this.#d.log.warn({ err: errorMessage(err) }, "stale endpoint check failed"));
    }, this.#d.election.leaseDurationMs);
    this.#reaper.unref();
  }

  /**
   * Removes the Endpoints of this cluster whose gateway no longer holds their lease (and says they
   * are passive). A lease is asked about by acquiring it: when that succeeds nobody held it, and it
   * is released at once. Exposed for tests; runs every lease duration while this gateway is active.
   */
  async reap(): Promise<Endpoint[]> {
    const { view, site, nodeName, leases, election, sink, log, version } = this.#d;
    const slot = this.slot;
    if (slot === undefined) return [];
    const removed: Endpoint[] = [];
    for (const ep of view.endpointsOf(site.clusterId)) {
      if (ep.hostname === nodeName) continue;
      const lease = endpointLease(ep);
      const answer = lease === slotLease(slot) ? "own-lease" : await leases.acquireLease(lease, nodeName, election.leaseDurationMs, election.renewDeadlineMs);
      const why = staleEndpoint(ep, answer);
      if (answer !== "own-lease" && answer.held) await leases.releaseLease(lease, nodeName, election.renewDeadlineMs);
      if (!why || this.slot !== slot) continue;
      await sink.deleteEndpoint(ep);
      await sink.putStatus(ep.hostname, passiveStatus(version));
      log.info({ endpoint: ep.cable_name, node: ep.hostname, why }, "removed a stale endpoint of this cluster");
      removed.push(ep);
    }
    return removed;
  }

  ready(): string | undefined {
    if (this.#elector?.role === "unsure") return "broker unreachable past the renew deadline (gateway engine paused, cables kept)";
    if (this.#engine && this.#engine.loop.passes === 0) return "active gateway: cables not set up yet";
    return undefined;
  }

  /**
   * Stops and gives the slot up. With another active gateway in the cluster this is a hand-over:
   * its Endpoint is withdrawn first, so the route agents send its flows to the others, then its
   * cables go. The cluster's only active gateway keeps its Endpoint and cables (a restart does
   * not cut traffic).
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#search);
    await this.#transition;
    const active = this.#engine?.endpoint;
    await this.#pause();
    const { view, site, sink, log, nodeName } = this.#d;
    const others = view.endpointsOf(site.clusterId).filter((ep) => ep.hostname !== nodeName && gatewayModeOf(ep) === "active-active");
    if (active && others.length) {
      await sink.deleteEndpoint(active);
      log.info(
        { endpoint: active.cable_name, others: others.map((ep) => ep.hostname) },
        "gateway stopping: endpoint withdrawn, the cluster's other gateways carry its flows",
      );
      await new Promise((r) => setTimeout(r, WITHDRAW_SETTLE_MS));
      await dropCables(this.#d);
      await sink.putStatus(nodeName, passiveStatus(this.#d.version)).catch(() => undefined);
    }
    await this.#elector?.stop();
    this.#elector = undefined;
  }

  /** Removes this gateway's cables, Endpoint and status, and gives the slot up. */
  async uninstall(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#search);
    await this.#transition;
    await this.#pause();
    await this.#elector?.stop();
    await new GatewayEngine({ ...this.#d, gatewaySlot: this.#slot }).uninstall();
  }
}
