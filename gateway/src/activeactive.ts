/**
 * A gateway candidate in active-active mode, standalone (docs/architecture.md, active-active):
 * instead of competing for the cluster's one election lease, every candidate claims a **slot**
 * (1–MAX_GATEWAY_SLOTS) by holding the broker lease `gateway-slot-<n>`, runs the gateway engine
 * with that slot while it holds it, and publishes an Endpoint declaring the mode and slot. The
 * lease is its liveness: every retry period each active gateway asks about its successor in the
 * ring of slots and removes its Endpoint when its lease is gone or held by another node, so a
 * crashed gateway's Endpoint goes about a retry period after its lease expires
 * (gateway/src/activeactive.test.ts, e2e/src/redundancy/activeactive.test.ts) and with it from the
 * route agents' next-hop groups. Chosen by the site file's `gatewayMode: active-active`.
 */
import { type Endpoint, endpointLease, errorMessage, gatewayModeOf, gatewaySlotOf, type LeaseResponse, MAX_GATEWAY_SLOTS, slotLease } from "@causeway/api";
import { BrokerLeaseElector, type Logger, type Role, type SiteComponent } from "@causeway/common";
import { dropCables, GatewayEngine, passiveStatus } from "./engine.ts";
import { DrainingRemotes } from "./drain.ts";
import { Fence } from "./fence.ts";
import type { SiteGatewayDeps } from "./standalone.ts";
import { UnderlayWatch } from "./underlay.ts";

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

/**
 * Pure: the other Endpoints of its cluster that the gateway in `slot` asks about — its successor
 * in the ring of slots (the next slot above its own that an Endpoint holds, wrapping round), every
 * Endpoint that claims its own slot, and every Endpoint without a slot. Each gateway asking about
 * one other keeps the broker's load at one lease call per gateway per round, however many
 * gateways the cluster has; a successor found stale is removed, and the next round asks about the
 * next one.
 */
export function reapTargets(slot: number, others: readonly Endpoint[]): Endpoint[] {
  const slotted = others.filter((ep) => gatewayModeOf(ep) === "active-active" && gatewaySlotOf(ep) !== undefined);
  const slots = [...new Set(slotted.map((ep) => gatewaySlotOf(ep) ?? 0))].filter((s) => s !== slot).sort((a, b) => a - b);
  const next = slots.find((s) => s > slot) ?? slots[0];
  return others.filter((ep) => !slotted.includes(ep) || gatewaySlotOf(ep) === slot || gatewaySlotOf(ep) === next);
}

/**
 * How long a stopping gateway waits, its Endpoint withdrawn, before its cables go: the route agents
 * move its flows to the others first (a pass takes a few hundred ms on a busy node); the remote
 * gateways keep accepting from it meanwhile (drain.ts).
 */
export const WITHDRAW_SETTLE_MS = 1000;

/** The active-active Endpoints of the cluster's other gateway nodes: with any, a stopping gateway hands its flows over to them (Endpoint withdrawn first, then its cables) instead of keeping its cables. */
export function otherActiveActive(endpoints: readonly Endpoint[], nodeName: string): Endpoint[] {
  return endpoints.filter((ep) => ep.hostname !== nodeName && gatewayModeOf(ep) === "active-active");
}

/** Awaits `call` at most `ms` (a withdrawing gateway's writes, its link maybe down); a failure or no answer is logged as `what`, not thrown. */
export async function bounded(call: Promise<void>, ms: number, log: Logger, what: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    timer.unref();
  });
  await Promise.race([call, late])
    .catch((err: unknown) => log.warn({ err: errorMessage(err) }, what))
    .finally(() => clearTimeout(timer));
}

/** An active gateway's stale-Endpoint check: `round` every `periodMs`, one at a time; stop() waits for the one running. */
export class ReapRounds {
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> = Promise.resolve();

  start(periodMs: number, round: () => Promise<unknown>, log: Logger): void {
    clearInterval(this.#timer);
    this.#timer = setInterval(() => {
      this.#running = this.#running
        .then(async () => void (await round()))
        .catch((err: unknown) => log.warn({ err: errorMessage(err) }, "stale endpoint check failed"));
    }, periodMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#running;
  }
}

export class SiteActiveGateway implements SiteComponent {
  readonly #d: SiteGatewayDeps;
  #elector: BrokerLeaseElector | undefined;
  #slot: number | undefined;
  #engine: GatewayEngine | undefined;
  #fence: Fence | undefined;
  #search: NodeJS.Timeout | undefined;
  readonly #reaper = new ReapRounds();
  /** Across this gateway's engines: one that starts after a pause still drains what the last one saw withdrawn. */
  readonly #drain = new DrainingRemotes();
  #transition: Promise<void> = Promise.resolve();
  #mayHaveCables = true;
  #noSlotLogged = false;
  #stopped = false;
  readonly #underlay: UnderlayWatch | undefined;

  constructor(d: SiteGatewayDeps) {
    this.#d = d;
    this.#underlay = d.underlayDev
      ? new UnderlayWatch({ dev: d.underlayDev, log: d.log, onChange: (up) => this.#underlayChanged(up), ...(d.underlayIsUp ? { isUp: d.underlayIsUp } : {}) })
      : undefined;
  }

  /**
   * Underlay link down: this gateway's cables carry nothing any more, so it withdraws at once
   * (Endpoint deleted, cables removed, slot given up) rather than letting its lease run out; the
   * cluster's other gateways carry its flows. Up again: it looks for a slot.
   */
  async #underlayChanged(up: boolean): Promise<void> {
    if (up) {
      this.#d.log.info({ dev: this.#d.underlayDev }, "underlay link up: looking for a gateway slot again");
      this.#scheduleSearch(0);
      return;
    }
    clearTimeout(this.#search);
    await this.#queue(() => this.#withdraw(`underlay link ${this.#d.underlayDev} down`));
  }

  /**
   * Gives up this gateway's slot: cables removed (they carry nothing with the link down), its
   * Endpoint withdrawn and its lease released when the broker answers within the renew deadline
   * (else the others remove the Endpoint once the lease expires), passive.
   */
  async #withdraw(why: string): Promise<void> {
    const { sink, log, nodeName, version, election } = this.#d;
    const active = this.#engine?.endpoint;
    await this.#pause();
    // Let go without waiting: the elector's round may be waiting for a step queued behind this one.
    const elector = this.#elector;
    this.#elector = undefined;
    void elector?.stop();
    if (this.#mayHaveCables) await dropCables(this.#d);
    this.#mayHaveCables = false;
    const ms = election.renewDeadlineMs;
    if (active) await bounded(sink.deleteEndpoint(active), ms, log, "could not withdraw the endpoint; another gateway removes it once the lease expires");
    await bounded(sink.putStatus(nodeName, passiveStatus(version)), ms, log, "could not report passive");
    log.warn({ node: nodeName, why }, "gateway withdrawn: cables, endpoint and slot given up");
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
    this.#underlay?.start();
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
    if (this.#stopped || this.#elector || this.#underlay?.up === false) return;
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
    const elector: BrokerLeaseElector = new BrokerLeaseElector({
      ...this.#d.election,
      client: this.#d.leases,
      name: slotLease(slot),
      identity: this.#d.nodeName,
      log: this.#d.log,
      // An elector let go (withdrawn) may still report its last round: not ours any more.
      onRole: (role) => this.#queue(() => (this.#elector === elector ? this.#become(role, slot) : Promise.resolve())),
    });
    this.#elector = elector;
    elector.start();
  }

  async #become(role: Role, slot: number): Promise<void> {
    const { log, nodeName } = this.#d;
    try {
      if (role === "leader") {
        if (this.#engine) return;
        this.#fence = new Fence();
        this.#engine = new GatewayEngine({
          ...this.#d,
          gatewaySlot: slot,
          drain: this.#drain,
          sink: this.#fence.sink(this.#d.sink),
          driver: this.#fence.driver(this.#d.driver),
        });
        this.#mayHaveCables = true;
        this.#engine.start();
        this.#reaper.start(this.#d.election.retryPeriodMs, () => this.reap(), this.#d.log);
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
    this.#fence?.raise();
    await this.#engine?.stop();
    this.#engine = undefined;
    await this.#reaper.stop();
  }

  /**
   * Removes the Endpoints of this cluster whose gateway no longer holds their lease (and says they
   * are passive). A lease is asked about by acquiring it: when that succeeds nobody held it, and it
   * is released at once. Each round asks about this gateway's successor in the ring of slots
   * (reapTargets). Exposed for tests; runs every retry period while this gateway is active.
   */
  async reap(): Promise<Endpoint[]> {
    const { view, site, nodeName, leases, election, sink, log, version } = this.#d;
    const slot = this.slot;
    if (slot === undefined) return [];
    const removed: Endpoint[] = [];
    const others = view.endpointsOf(site.clusterId).filter((ep) => ep.hostname !== nodeName);
    for (const ep of reapTargets(slot, others)) {
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
    if (this.#underlay && !this.#underlay.up) return `underlay link ${this.#d.underlayDev} down: gateway withdrawn`;
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
    this.#underlay?.stop();
    await this.#transition;
    const active = this.#engine?.endpoint;
    await this.#pause();
    const { view, site, sink, log, nodeName } = this.#d;
    const others = otherActiveActive(view.endpointsOf(site.clusterId), nodeName);
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
    this.#underlay?.stop();
    await this.#transition;
    await this.#pause();
    await this.#elector?.stop();
    await new GatewayEngine({ ...this.#d, gatewaySlot: this.#slot }).uninstall();
  }
}
