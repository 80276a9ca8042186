/**
 * A gateway candidate in active-active mode, Kubernetes (docs/architecture.md, active-active): the
 * standalone design (activeactive.ts) on the cluster's API server. Every candidate claims a
 * **slot** by holding the Lease `causeway-gateway-slot-<n>`, runs the gateway engine with that
 * slot while it holds it, and publishes an Endpoint object declaring the mode and slot. Lease
 * expiry is judged as client-go does, by each observer (a record unchanged for its duration since
 * this candidate saw it change), so a candidate learns of the slots from one LIST of the
 * namespace's Leases per retry period. Every active gateway deletes the Endpoint objects of its
 * cluster whose gateway no longer holds their Lease; one of them, the holder of the Lease
 * `causeway-broker-syncer`, runs the broker syncer. Chosen by join's `--gateway-mode active-active`
 * (causeway-config's gatewayMode).
 */
import { type Endpoint, errorMessage, gatewayModeOf, gatewaySlotOf, MAX_GATEWAY_SLOTS } from "@causeway/api";
import { kube, type SiteComponent, view } from "@causeway/common";
import { bounded, otherActiveActive, ReapRounds, slotOrder, WITHDRAW_SETTLE_MS } from "./activeactive.ts";
import { dropCables, type GatewayEngine, passiveStatus } from "./engine.ts";
import { DrainingRemotes } from "./drain.ts";
import { Fence } from "./fence.ts";
import { brokerSyncerOf, GATEWAY_LEASE, gatewayIdentity, type KubeGatewayDeps, kubeEngine } from "./kube.ts";
import type { BrokerSyncer } from "./sync/syncer.ts";
import { UnderlayWatch } from "./underlay.ts";

/** The Lease that holds active-active slot `slot` of the cluster (Kubernetes mode). */
export const kubeSlotLease = (slot: number): string => `causeway-gateway-slot-${slot}`;
/** The Lease whose holder, one of the active gateways, runs the cluster's broker syncer in active-active mode. */
export const SYNCER_LEASE = "causeway-broker-syncer";

/** Pure: the Lease an Endpoint object lives by — its slot's, or (an active-passive gateway's) the cluster's election Lease. */
export function kubeEndpointLease(ep: Endpoint): string {
  const slot = gatewayModeOf(ep) === "active-active" ? gatewaySlotOf(ep) : undefined;
  return slot === undefined ? GATEWAY_LEASE : kubeSlotLease(slot);
}

/** What an active gateway knows of a Lease of its cluster: who holds it, and whether it has run out as this gateway observes it. */
export interface LeaseLook {
  readonly holder: string;
  readonly free: boolean;
}

/**
 * Pure: why another node's Endpoint object is stale, from its Lease as this gateway sees it
 * (undefined: absent — no gateway holds it), or undefined when it is not: the Lease is gone, has
 * no holder, has run out, or is held by another node's gateway.
 */
export function staleKubeEndpoint(ep: Endpoint, lease: LeaseLook | undefined): string | undefined {
  const name = kubeEndpointLease(ep);
  if (!lease) return `its Lease ${name} does not exist: its gateway is gone`;
  if (lease.free) return `its Lease ${name} is free: its gateway is gone`;
  if (lease.holder !== gatewayIdentity(ep.hostname)) return `its Lease ${name} is held by ${lease.holder}`;
  return undefined;
}

export class KubeActiveGateway implements SiteComponent {
  readonly #d: KubeGatewayDeps;
  readonly #identity: string;
  readonly #sink: view.GatewaySink;
  readonly #view: view.KubeEndpointView;
  /** One elector per Lease of the cluster's slots and the cluster's election Lease: each keeps what this candidate observed of it; only the held slot's campaigns. */
  readonly #leases = new Map<string, kube.LeaseElector>();
  #slot: number | undefined;
  #elector: kube.LeaseElector | undefined;
  #engine: GatewayEngine | undefined;
  #fence: Fence | undefined;
  #syncElector: kube.LeaseElector | undefined;
  #syncer: BrokerSyncer | undefined;
  #search: NodeJS.Timeout | undefined;
  readonly #reaper = new ReapRounds();
  /** Across this gateway's engines (one paused, then a new one): what the last saw withdrawn still drains. */
  readonly #drain = new DrainingRemotes();
  #transition: Promise<void> = Promise.resolve();
  #mayHaveCables = true;
  #noSlotLogged = false;
  #stopped = false;
  readonly #underlay: UnderlayWatch | undefined;

  constructor(d: KubeGatewayDeps) {
    this.#d = d;
    this.#identity = gatewayIdentity(d.nodeName);
    this.#sink = new view.KubeGatewaySink(d.client, d.namespace);
    this.#view = new view.KubeEndpointView(d.client, d.namespace, d.log);
    this.#underlay = d.underlayDev ? new UnderlayWatch({ dev: d.underlayDev, log: d.log, onChange: (up) => this.#underlayChanged(up) }) : undefined;
  }

  /** The slot this gateway holds while active, or undefined. */
  get slot(): number | undefined {
    return this.#elector?.isLeader ? this.#slot : undefined;
  }

  get isActive(): boolean {
    return this.#engine !== undefined;
  }

  /** Whether this gateway runs the cluster's broker syncer now. */
  get syncing(): boolean {
    return this.#syncer !== undefined;
  }

  #queue(step: () => Promise<void>): Promise<void> {
    const next = this.#transition.then(step);
    this.#transition = next.catch((err: unknown) => this.#d.log.error({ err: errorMessage(err) }, "gateway role change failed"));
    return next;
  }

  /** The elector of Lease `name` (made on first use; its callbacks act only while it is the held slot's). */
  #lease(name: string, slot?: number): kube.LeaseElector {
    let e = this.#leases.get(name);
    if (e) return e;
    const { client, namespace, election, log } = this.#d;
    const mine = () => slot !== undefined && this.#elector === e;
    e = new kube.LeaseElector({
      client,
      namespace,
      name,
      identity: this.#identity,
      ...election,
      log,
      onStartedLeading: () => void (mine() && slot !== undefined ? this.#queue(() => this.#lead(slot)) : undefined),
      onStoppedLeading: () => void (mine() ? this.#queue(() => this.#pause("slot Lease not renewed within the deadline")) : undefined),
      onNewLeader: (id) => void (mine() && id !== "" && id !== this.#identity && slot !== undefined ? this.#queue(() => this.#lost(slot, id)) : undefined),
    });
    this.#leases.set(name, e);
    return e;
  }

  /** One LIST of the namespace's Leases, each told to its elector: what is held, by whom, and what has run out. */
  async #look(): Promise<Map<string, LeaseLook>> {
    const { client, namespace, election } = this.#d;
    const timeoutMs = Math.max(100, Math.min(election.renewDeadlineMs / 2, 5000));
    const list = await client.request<{ items: kube.LeaseObject[] }>("GET", kube.resourcePath(kube.R.lease, namespace), { timeoutMs });
    const out = new Map<string, LeaseLook>();
    for (const obj of list.items) {
      const e = this.#leases.get(obj.metadata.name);
      if (!e) continue;
      e.seen(obj);
      out.set(obj.metadata.name, { holder: obj.spec?.holderIdentity ?? "", free: e.free });
    }
    return out;
  }

  start(): void {
    for (let s = 1; s <= MAX_GATEWAY_SLOTS; s++) this.#lease(kubeSlotLease(s), s);
    this.#lease(GATEWAY_LEASE);
    this.#view.start(() => undefined);
    void this.#queue(() => this.#sink.putStatus(this.#d.nodeName, passiveStatus(this.#d.version)));
    this.#scheduleSearch(0);
    this.#underlay?.start();
  }

  #scheduleSearch(ms: number): void {
    if (this.#stopped) return;
    clearTimeout(this.#search);
    this.#search = setTimeout(() => void this.#queue(() => this.#searchRound()), ms);
    this.#search.unref();
  }

  /** A slot this node's gateway still holds (a restart keeps its slot), else the first free one; none: again after a retry period. */
  async #searchRound(): Promise<void> {
    if (this.#stopped || this.#elector || this.#underlay?.up === false) return;
    const { log, election } = this.#d;
    try {
      const looks = await this.#look();
      const held = slotOrder().find((s) => looks.get(kubeSlotLease(s))?.holder === this.#identity);
      const candidates = held !== undefined ? [held] : slotOrder().filter((s) => looks.get(kubeSlotLease(s))?.free ?? true);
      for (const s of candidates) {
        if (await this.#lease(kubeSlotLease(s), s).tryAcquireOrRenew()) return this.#claim(s);
      }
      if (!this.#noSlotLogged) log.warn({ slots: MAX_GATEWAY_SLOTS }, "every active-active gateway slot of this cluster is held: this candidate stands by");
      this.#noSlotLogged = true;
    } catch (err) {
      log.debug({ err: errorMessage(err) }, "gateway slot search: API server unreachable");
    }
    this.#scheduleSearch(election.retryPeriodMs);
  }

  /** Holds `slot` from now on: its elector renews the Lease and says when it is lost. */
  #claim(slot: number): void {
    this.#noSlotLogged = false;
    this.#slot = slot;
    this.#elector = this.#lease(kubeSlotLease(slot), slot);
    this.#elector.start();
  }

  /** Active in `slot`: the engine publishes this gateway's Endpoint with its slot; the reaper runs; the syncer Lease is campaigned for. */
  async #lead(slot: number): Promise<void> {
    if (this.#engine || this.#slot !== slot) return;
    const d = this.#d;
    this.#fence = new Fence();
    this.#engine = kubeEngine(d, this.#fence, slot, this.#drain);
    this.#mayHaveCables = true;
    this.#engine.start();
    this.#reaper.start(d.election.retryPeriodMs, () => this.reap(), d.log);
    this.#syncElector = new kube.LeaseElector({
      client: d.client,
      namespace: d.namespace,
      name: SYNCER_LEASE,
      identity: this.#identity,
      ...d.election,
      log: d.log,
      onStartedLeading: () => void this.#queue(async () => this.#startSyncer()),
      onStoppedLeading: () => void this.#queue(() => this.#stopSyncer()),
    });
    this.#syncElector.start();
    d.log.info({ node: d.nodeName, slot }, "gateway active (active-active)");
  }

  #startSyncer(): void {
    if (this.#syncer || !this.#engine) return;
    const d = this.#d;
    this.#syncer = brokerSyncerOf(d);
    this.#syncer.start();
    d.log.info({ node: d.nodeName }, "running the cluster's broker syncer");
  }

  async #stopSyncer(): Promise<void> {
    const s = this.#syncer;
    this.#syncer = undefined;
    await s?.stop();
  }

  /** Engine, reaper and syncer stopped (the syncer Lease released); cables stay. */
  async #pause(why?: string): Promise<void> {
    this.#fence?.raise();
    await this.#engine?.stop();
    this.#engine = undefined;
    await this.#reaper.stop();
    const se = this.#syncElector;
    this.#syncElector = undefined;
    await se?.stop();
    await this.#stopSyncer();
    if (why) this.#d.log.warn({ node: this.#d.nodeName, slot: this.#slot, why }, "gateway engine paused, cables kept");
  }

  /** Stops holding the slot: its elector stops (releasing the Lease when it still holds it), not awaited when `wait` is false (its own round may be waiting for this step). */
  async #letGo(wait: boolean): Promise<void> {
    const e = this.#elector;
    this.#elector = undefined;
    this.#slot = undefined;
    if (wait) await e?.stop();
    else void e?.stop();
  }

  /** Another node's gateway holds our slot now (this one was cut off past its Lease): cables dropped, passive, a slot searched for again. */
  async #lost(slot: number, holder: string): Promise<void> {
    await this.#pause();
    await this.#letGo(false);
    if (this.#mayHaveCables) await dropCables(this.#d);
    this.#mayHaveCables = false;
    await this.#sink.putStatus(this.#d.nodeName, passiveStatus(this.#d.version));
    this.#d.log.info({ node: this.#d.nodeName, slot, holder }, "gateway slot lost: passive, looking for a slot again");
    this.#scheduleSearch(this.#d.election.retryPeriodMs);
  }

  /** Underlay down: withdrawn at once (cables, Endpoint, slot); up: looks for a slot. */
  async #underlayChanged(up: boolean): Promise<void> {
    if (up) {
      this.#d.log.info({ dev: this.#d.underlayDev }, "underlay link up: looking for a gateway slot again");
      this.#scheduleSearch(0);
      return;
    }
    clearTimeout(this.#search);
    await this.#queue(() => this.#withdraw(`underlay link ${this.#d.underlayDev} down`, false));
  }

  /**
   * Gives the slot up: this gateway's Endpoint object deleted first (the route agents move its
   * flows to the others), then the engine stopped and the slot released; after `settleMs` its
   * cables removed, passive. Calls the API server may not answer
   * (its link is down) are bounded by the renew deadline; the others delete the Endpoint once the
   * Lease runs out.
   */
  async #withdraw(why: string, wait: boolean, settleMs = 0): Promise<void> {
    const { log, nodeName, version, election } = this.#d;
    const active = this.#engine?.endpoint;
    const ms = election.renewDeadlineMs;
    // The Endpoint first (the engine's writes fenced off, so it cannot publish it again): the route agents move its flows at once.
    this.#fence?.raise();
    if (active)
      await bounded(this.#sink.deleteEndpoint(active), ms, log, "could not withdraw the endpoint; another gateway deletes it once the Lease runs out");
    await this.#pause();
    await this.#letGo(wait);
    if (settleMs) await new Promise((r) => setTimeout(r, settleMs));
    if (this.#mayHaveCables) await dropCables(this.#d);
    this.#mayHaveCables = false;
    await bounded(this.#sink.putStatus(nodeName, passiveStatus(version)), ms, log, "could not report passive");
    log.warn({ node: nodeName, why }, "gateway withdrawn: endpoint, cables and slot given up");
  }

  /**
   * Deletes the Endpoint objects of this cluster whose gateway no longer holds their Lease (and
   * says those gateways are passive): one LIST of the Leases per round, every other Endpoint of
   * the cluster checked. Exposed for tests; runs every retry period while this gateway is active.
   */
  async reap(): Promise<Endpoint[]> {
    const { cluster, nodeName, log, version } = this.#d;
    if (this.slot === undefined) return [];
    const others = this.#view.endpointsOf(cluster.clusterId).filter((ep) => ep.hostname !== nodeName);
    if (!others.length) return [];
    const looks = await this.#look();
    const removed: Endpoint[] = [];
    for (const ep of others) {
      const why = staleKubeEndpoint(ep, looks.get(kubeEndpointLease(ep)));
      if (!why || this.slot === undefined) continue;
      await this.#sink.deleteEndpoint(ep);
      await this.#sink.putStatus(ep.hostname, passiveStatus(version));
      log.info({ endpoint: ep.cable_name, node: ep.hostname, why }, "removed a stale endpoint of this cluster");
      removed.push(ep);
    }
    return removed;
  }

  ready(): string | undefined {
    if (this.#underlay && !this.#underlay.up) return `underlay link ${this.#d.underlayDev} down: gateway withdrawn`;
    if (this.#engine && this.#engine.loop.passes === 0) return "active gateway: cables not set up yet";
    return undefined;
  }

  /**
   * Stops and gives the slot up. With another active gateway in the cluster this is a hand-over:
   * its Endpoint is deleted first, so the route agents send its flows to the others, then its
   * cables go. The cluster's only active gateway keeps its Endpoint and cables (a restart does not
   * cut traffic).
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#search);
    this.#underlay?.stop();
    await this.#transition;
    const active = this.#engine !== undefined;
    const others = otherActiveActive(this.#view.endpointsOf(this.#d.cluster.clusterId), this.#d.nodeName);
    if (active && others.length) {
      await this.#withdraw("stopping; the cluster's other gateways carry its flows", true, WITHDRAW_SETTLE_MS);
    } else {
      await this.#pause();
      await this.#letGo(true);
    }
    this.#view.stop();
  }

  /** Removes this gateway's cables, its Endpoint (locally and at the broker) and its status. */
  async uninstall(): Promise<void> {
    await this.stop();
    const engine = kubeEngine(this.#d);
    await engine.uninstall();
    await this.#d.conn.delete("endpoint", this.#d.cluster.clusterId, engine.endpoint.cable_name);
  }
}
