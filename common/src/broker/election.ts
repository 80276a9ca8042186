import { performance } from "node:perf_hooks";
import { errorMessage, type LeaseResponse, ValidationError } from "@causeway/api";
import type { Logger } from "../log.ts";

/** The lease calls of a broker connection (a cluster credential; leases are scoped to its cluster). */
export interface LeaseClient {
  /** `timeoutMs`: the call's deadline (a leader must know where it stands by its renew deadline, not the connection's default). */
  acquireLease(name: string, holder: string, ttlMs: number, timeoutMs?: number): Promise<LeaseResponse>;
  renewLease(name: string, holder: string, ttlMs: number, timeoutMs?: number): Promise<LeaseResponse>;
  releaseLease(name: string, holder: string, timeoutMs?: number): Promise<LeaseResponse>;
}

export interface LeaseTimings {
  /** How long the lease is valid without renewal: the longest a crashed or cut-off leader keeps it. */
  readonly leaseDurationMs: number;
  /** A leader that could not renew for this long stops acting as leader (must be < leaseDuration, so it stops before anyone may take over). */
  readonly renewDeadlineMs: number;
  /** Time between rounds: a leader renews this often, candidates try this often. */
  readonly retryPeriodMs: number;
}

/** Standalone defaults: a crashed gateway's lease is free after 1 s; a candidate notices within 0.2 s. */
export const STANDALONE_LEASE: LeaseTimings = { leaseDurationMs: 1000, renewDeadlineMs: 750, retryPeriodMs: 200 };

/** Throws a clear error for timings that cannot work (zero, negative, or out of order). */
export function checkLeaseTimings(t: LeaseTimings): void {
  const { leaseDurationMs, renewDeadlineMs, retryPeriodMs } = t;
  for (const [k, v] of Object.entries({ leaseDurationMs, renewDeadlineMs, retryPeriodMs }))
    if (!Number.isFinite(v) || v <= 0) throw new ValidationError(`lease ${k} must be a positive number of milliseconds, got ${v}`);
  if (!(t.renewDeadlineMs < t.leaseDurationMs))
    throw new ValidationError(`lease renew deadline (${t.renewDeadlineMs} ms) must be shorter than the lease duration (${t.leaseDurationMs} ms)`);
  if (!(t.retryPeriodMs < t.renewDeadlineMs))
    throw new ValidationError(`lease retry period (${t.retryPeriodMs} ms) must be shorter than the renew deadline (${t.renewDeadlineMs} ms)`);
}

/**
 * What a candidate is: `leader` (holds the lease), `follower` (another holds it, or nobody and we
 * could not take it), `unsure` (was leader, but could not reach the broker within the renew
 * deadline: must stop acting as leader, yet nobody has been seen to replace it).
 */
export type Role = "leader" | "follower" | "unsure";

/** The shortest deadline a lease call gets (one round trip to a nearby broker, with room). */
const MIN_CALL_MS = 50;

export interface BrokerElectorOptions extends LeaseTimings {
  readonly client: LeaseClient;
  readonly name: string;
  /** This candidate's identity (unique in its cluster, stable across restarts: the node name). */
  readonly identity: string;
  readonly log: Logger;
  /** Called on every role change, in order; the next round waits until it returns. */
  readonly onRole: (role: Role, holder: string) => Promise<void> | void;
  /** Monotonic milliseconds; tests may replace it. */
  readonly now?: () => number;
}

/**
 * Leader election on a broker lease (standalone mode). Expiry is judged by the broker; a leader
 * that cannot renew within the renew deadline becomes `unsure` (it stops writing as leader but
 * its data path stays: a broker outage is not a reason to cut traffic) and becomes `follower`
 * only when the broker names another holder. A graceful stop releases the lease so a successor
 * takes over within one retry period.
 */
export class BrokerLeaseElector {
  readonly #o: BrokerElectorOptions;
  readonly #now: () => number;
  #role: Role = "follower";
  #holder = "";
  #lastRenew = 0;
  #timer: NodeJS.Timeout | undefined;
  #tick: Promise<void> | undefined;
  #stopped = false;
  #reported = false;
  #eligible = true;

  constructor(o: BrokerElectorOptions) {
    checkLeaseTimings(o);
    this.#o = o;
    this.#now = o.now ?? (() => performance.now());
  }

  get role(): Role {
    return this.#role;
  }

  /** The holder last named by the broker ("" when none or unknown). */
  get holder(): string {
    return this.#holder;
  }

  /** Starts the rounds (once). */
  start(): void {
    this.#schedule(0);
  }

  /**
   * While not eligible this candidate does not campaign: a leader (or unsure leader) gives the
   * lease up (releasing it if the broker answers) and reports follower at once. Eligible again,
   * it campaigns from the next round.
   */
  async setEligible(eligible: boolean): Promise<void> {
    if (eligible === this.#eligible) return;
    this.#eligible = eligible;
    if (eligible) return;
    await this.#tick;
    if (this.#role === "follower" || this.#stopped) return;
    const { client, name, identity, renewDeadlineMs, log } = this.#o;
    await client.releaseLease(name, identity, renewDeadlineMs).catch((err: unknown) => {
      log.warn({ lease: name, err: errorMessage(err) }, "could not release the lease; it expires by itself");
    });
    this.#role = "follower";
    this.#holder = "";
    log.info({ lease: name, role: "follower" }, "gateway election: withdrawn");
    await this.#o.onRole("follower", "");
  }

  /** Stops campaigning; a leader (or unsure leader) releases the lease. Idempotent. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#tick;
    if (this.#role !== "follower") {
      try {
        await this.#o.client.releaseLease(this.#o.name, this.#o.identity);
        this.#o.log.info({ lease: this.#o.name }, "released the lease");
      } catch (err) {
        this.#o.log.warn({ lease: this.#o.name, err: errorMessage(err) }, "could not release the lease; it expires by itself");
      }
    }
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#tick = this.round().finally(() => {
        this.#tick = undefined;
        this.#schedule(this.#o.retryPeriodMs);
      });
    }, ms);
  }

  /** Renews (leader) or acquires (others); undefined when the broker could not be asked. */
  async #ask(): Promise<LeaseResponse | undefined> {
    const { client, name, identity, leaseDurationMs, renewDeadlineMs } = this.#o;
    try {
      if (this.#role !== "leader") return await client.acquireLease(name, identity, leaseDurationMs, renewDeadlineMs);
      // A call hung on an unreachable broker must not carry a leader past its renew deadline.
      const left = () => Math.max(MIN_CALL_MS, renewDeadlineMs - (this.#now() - this.#lastRenew));
      const res = await client.renewLease(name, identity, leaseDurationMs, left());
      // Expired but not taken (or deleted): take it again.
      return !res.held && (res.holder === "" || res.holder === identity) ? await client.acquireLease(name, identity, leaseDurationMs, left()) : res;
    } catch (err) {
      if (this.#role === "leader") this.#o.log.warn({ lease: name, err: errorMessage(err) }, "could not renew the lease");
      return undefined;
    }
  }

  /** One round: renew (leader) or try to acquire (others), then report a role change. Exposed for tests. */
  async round(): Promise<void> {
    if (!this.#eligible) return;
    const name = this.#o.name;
    const res = await this.#ask();
    if (this.#stopped) return;
    const now = this.#now();
    if (res) this.#holder = res.holder;
    let next: Role = this.#role;
    if (res?.held) {
      this.#lastRenew = now;
      next = "leader";
    } else if (res) {
      next = "follower";
    } else if (this.#role === "leader" && now - this.#lastRenew >= this.#o.renewDeadlineMs) {
      next = "unsure";
    }
    if (next !== this.#role || !this.#reported) {
      this.#role = next;
      this.#reported = true;
      this.#o.log.info({ lease: name, role: next, holder: this.#holder || "(none)" }, "gateway election");
      await this.#o.onRole(next, this.#holder);
    }
  }
}
