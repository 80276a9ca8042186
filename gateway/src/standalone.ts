import { errorMessage, STANDALONE_GATEWAY_LEASE } from "@causeway/api";
import { BrokerLeaseElector, type LeaseClient, type LeaseTimings, type Role, type SiteComponent } from "@causeway/common";
import { dropCables, type GatewayDeps, GatewayEngine, PASSIVE_RETRY_MS, passiveStatus } from "./engine.ts";
import { Fence } from "./fence.ts";
import { awaitSuccessor, type HandoverOptions } from "./handover.ts";
import { UnderlayWatch } from "./underlay.ts";

/** The broker lease a standalone cluster's gateway candidates compete for (scoped to the cluster by the broker). */

export interface SiteGatewayDeps extends GatewayDeps {
  readonly leases: LeaseClient;
  readonly election: LeaseTimings;
  /** How many gateway candidates the cluster has: with more than one, a gracefully stopping leader hands over (removes its cables). */
  readonly candidates: number;
  /** The interface carrying the private IP: while it is down this candidate withdraws from the election. */
  readonly underlayDev?: string;
  /** How the underlay's state is read (default: sysfs); tests pass their own. */
  readonly underlayIsUp?: (dev: string) => Promise<boolean>;
  /** Where a gracefully stopping leader looks for its successor's Endpoint (the broker connection); without it, cables go at once. */
  readonly broker?: HandoverOptions["broker"];
}

/**
 * A gateway candidate in standalone mode. While it holds the cluster's broker lease it runs the
 * gateway engine; while another holds it, it has no cables and reports itself passive. A leader
 * cut off from the broker past the renew deadline stops the engine (it must not write as leader
 * once a successor may exist) but keeps its cables: a broker outage does not cut traffic.
 */
export class SiteGateway implements SiteComponent {
  readonly #d: SiteGatewayDeps;
  readonly #elector: BrokerLeaseElector;
  #engine: GatewayEngine | undefined;
  #fence: Fence | undefined;
  readonly #underlay: UnderlayWatch | undefined;
  /** Cables of ours may be on this host (we led, or an earlier process did). */
  #mayHaveCables = true;
  /** Role changes, and the retries of a failed step to passive, one at a time. */
  #transition: Promise<void> = Promise.resolve();
  #retry: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(d: SiteGatewayDeps) {
    this.#d = d;
    this.#elector = new BrokerLeaseElector({
      ...d.election,
      client: d.leases,
      name: STANDALONE_GATEWAY_LEASE,
      identity: d.nodeName,
      log: d.log,
      onRole: (role, holder) => this.#queue(() => this.#become(role, holder)),
    });
    this.#underlay = d.underlayDev ? new UnderlayWatch({ dev: d.underlayDev, log: d.log, onChange: (up) => this.#elector.setEligible(up) }) : undefined;
  }

  get role(): Role {
    return this.#elector.role;
  }

  #queue(step: () => Promise<void>): Promise<void> {
    const next = this.#transition.then(step);
    this.#transition = next.catch(() => undefined);
    return next;
  }

  /** A failed step to passive is tried again while this candidate follows (PASSIVE_RETRY_MS). */
  #retryPassive(holder: string): void {
    clearTimeout(this.#retry);
    this.#retry = setTimeout(() => {
      void this.#queue(async () => {
        if (!this.#stopped && this.#elector.role === "follower") await this.#become("follower", holder);
      });
    }, PASSIVE_RETRY_MS);
    this.#retry.unref();
  }

  async #become(role: Role, holder: string): Promise<void> {
    const log = this.#d.log;
    try {
      if (role === "leader") {
        if (this.#engine) return;
        this.#fence = new Fence();
        this.#engine = new GatewayEngine({
          ...this.#d,
          sink: this.#fence.sink(this.#d.sink),
          driver: this.#fence.driver(this.#d.driver),
        });
        this.#mayHaveCables = true;
        this.#engine.start();
        log.info({ node: this.#d.nodeName }, "gateway active");
        return;
      }
      // Fenced first: a write hung on the broker is abandoned, so stopping does not wait out its deadline.
      this.#fence?.raise();
      await this.#engine?.stop();
      this.#engine = undefined;
      if (role === "unsure") {
        log.warn({ node: this.#d.nodeName }, "broker unreachable past the renew deadline: gateway engine paused, cables kept");
        return;
      }
      // Another gateway leads: this host must not carry cables (its table 100 would shadow the route agent's path to the new gateway).
      if (this.#mayHaveCables) await dropCables(this.#d);
      this.#mayHaveCables = false;
      await this.#putPassive();
      log.info({ node: this.#d.nodeName, active: holder || "(none)" }, "gateway passive");
    } catch (err) {
      const retry = role === "follower" && this.#mayHaveCables;
      log.error({ role, err: errorMessage(err), ...(retry ? { retryInMs: PASSIVE_RETRY_MS } : {}) }, "gateway role change failed");
      if (retry) this.#retryPassive(holder);
    }
  }

  async #putPassive(): Promise<void> {
    await this.#d.sink.putStatus(this.#d.nodeName, passiveStatus(this.#d.version));
  }

  /** Ready as a passive candidate, or as the active gateway once its engine has completed a pass. */
  ready(): string | undefined {
    if (this.#underlay && !this.#underlay.up) return `underlay link ${this.#d.underlayDev} down: withdrawn from the gateway election`;
    if (this.#elector.role === "unsure") return "broker unreachable past the renew deadline (gateway engine paused, cables kept)";
    if (this.#engine && this.#engine.loop.passes === 0) return "active gateway: cables not set up yet";
    return undefined;
  }

  start(): void {
    this.#elector.start();
    this.#underlay?.start();
  }

  /**
   * Stops campaigning and releases the lease. With another candidate in the cluster this is a
   * hand-over: once the successor's Endpoint is out (make-before-break, bounded) the cables go
   * too, so the successor's path is the only one. A lone gateway keeps its cables (a restart
   * does not cut traffic).
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#retry);
    const wasLeading = this.#elector.role !== "follower";
    this.#underlay?.stop();
    await this.#elector.stop();
    this.#fence?.raise();
    await this.#engine?.stop();
    this.#engine = undefined;
    if (wasLeading && this.#d.candidates > 1) {
      if (this.#d.broker) await awaitSuccessor({ broker: this.#d.broker, clusterId: this.#d.site.clusterId, node: this.#d.nodeName, log: this.#d.log });
      await dropCables(this.#d);
      await this.#putPassive().catch(() => undefined);
    }
  }

  /** Removes this gateway's cables, Endpoint and status. */
  async uninstall(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#retry);
    this.#underlay?.stop();
    await this.#elector.stop();
    await this.#engine?.stop();
    await new GatewayEngine(this.#d).uninstall();
  }
}
