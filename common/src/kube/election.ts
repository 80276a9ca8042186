import { performance } from "node:perf_hooks";
import { errorMessage, ValidationError } from "@causeway/api";
import type { Logger } from "../log.ts";
import { type KubeClient, resourcePath } from "./client.ts";
import { KubeConflictError, KubeNotFoundError } from "./errors.ts";
import { R } from "./types.ts";

/** The lock record, as coordination.k8s.io/v1 Lease spec fields. */
export interface LeaseRecord {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

export interface LeaseObject {
  metadata: { name: string; namespace?: string; resourceVersion?: string };
  spec?: LeaseRecord;
}

export interface LeaseElectorOptions {
  readonly client: KubeClient;
  readonly namespace: string;
  readonly name: string;
  /** This candidate's identity (unique per candidate, stable across its restarts). */
  readonly identity: string;
  /** How long a lease is valid without renewal; followers wait this long before taking over. Default 15 s. */
  readonly leaseDurationMs?: number;
  /** The leader gives up if it could not renew for this long (must be < leaseDuration). Default 10 s. */
  readonly renewDeadlineMs?: number;
  /** Time between attempts (followers add jitter). Default 2 s. */
  readonly retryPeriodMs?: number;
  readonly log: Logger;
  readonly onStartedLeading: () => void;
  readonly onStoppedLeading: () => void;
  /** Called when the observed holder changes (including to ""). */
  readonly onNewLeader?: (identity: string) => void;
  /** Monotonic milliseconds; tests may replace it. */
  readonly now?: () => number;
}

/** Lease times are MicroTime: RFC 3339 with six fractional digits. */
export function microTime(d: Date = new Date()): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

/**
 * Leader election on a coordination.k8s.io/v1 Lease, client-go's algorithm written for us:
 * optimistic concurrency on resourceVersion (a conflicting update loses the round), expiry
 * judged on a monotonic clock from the moment this candidate last saw the record change (clock
 * skew between candidates does not matter), and release on graceful stop so a successor need
 * not wait for expiry.
 */
export class LeaseElector {
  readonly #o: LeaseElectorOptions;
  readonly #durationMs: number;
  readonly #deadlineMs: number;
  readonly #retryMs: number;
  readonly #now: () => number;
  #observedRaw = "";
  #observedAt = 0;
  /** The Lease as last read or written: a leader renews on it without reading it again. */
  #observedObj: LeaseObject | undefined;
  #leading = false;
  #lastRenew = 0;
  #leader = "";
  #timer: NodeJS.Timeout | undefined;
  #tick: Promise<void> | undefined;
  #stopped = true;
  #eligible = true;

  constructor(o: LeaseElectorOptions) {
    this.#o = o;
    this.#durationMs = o.leaseDurationMs ?? 15_000;
    this.#deadlineMs = o.renewDeadlineMs ?? 10_000;
    this.#retryMs = o.retryPeriodMs ?? 2_000;
    this.#now = o.now ?? (() => performance.now());
    if (!(this.#deadlineMs < this.#durationMs))
      throw new ValidationError(`lease renew deadline (${this.#deadlineMs} ms) must be shorter than the lease duration (${this.#durationMs} ms)`);
    if (!(this.#retryMs < this.#deadlineMs))
      throw new ValidationError(`lease retry period (${this.#retryMs} ms) must be shorter than the renew deadline (${this.#deadlineMs} ms)`);
  }

  get isLeader(): boolean {
    return this.#leading;
  }

  /** The holder this candidate last observed ("" when none). */
  get leader(): string {
    return this.#leader;
  }

  start(): void {
    this.#stopped = false;
    this.#schedule(0);
  }

  /** Stops campaigning; a leader releases the lease (holder "") so that a successor takes over at once. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#tick;
    if (this.#leading) {
      await this.release();
      this.#leading = false;
      this.#o.onStoppedLeading();
    }
  }

  /**
   * While not eligible this candidate does not campaign: a leader releases the Lease (a
   * successor takes over at once) and is told it stopped leading. Eligible again, it campaigns
   * from the next round.
   */
  async setEligible(eligible: boolean): Promise<void> {
    if (eligible === this.#eligible) return;
    this.#eligible = eligible;
    if (eligible) return;
    await this.#tick;
    if (!this.#leading) return;
    await this.release();
    this.#leading = false;
    this.#o.onStoppedLeading();
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#tick = this.#round().finally(() => {
        this.#tick = undefined;
      });
    }, ms);
  }

  async #round(): Promise<void> {
    if (!this.#eligible) {
      this.#schedule(this.#retryMs);
      return;
    }
    let ok = false;
    // A renewal counts from when it was sent: the record the others see changes no earlier.
    const sentAt = this.#now();
    try {
      ok = await this.tryAcquireOrRenew();
    } catch (err) {
      this.#o.log.warn({ lease: this.#o.name, err: errorMessage(err) }, "lease request failed");
    }
    if (this.#stopped) return;
    const now = this.#now();
    if (ok) {
      this.#lastRenew = sentAt;
      if (!this.#leading) {
        this.#leading = true;
        this.#o.log.info({ lease: this.#o.name, identity: this.#o.identity }, "acquired the lease; leading");
        this.#o.onStartedLeading();
      }
    } else if (this.#leading && now - this.#lastRenew >= this.#deadlineMs) {
      this.#leading = false;
      this.#o.log.warn(
        { lease: this.#o.name, sinceRenewMs: Math.round(now - this.#lastRenew) },
        "could not renew the lease within the renew deadline; stepping down",
      );
      this.#o.onStoppedLeading();
    }
    // Followers jitter (client-go: up to 1.2 × retry period) so that candidates do not collide.
    this.#schedule(this.#leading ? this.#retryMs : this.#retryMs * (1 + 1.2 * Math.random()));
  }

  /**
   * How long one call of this round may wait. A leader's may take until its renew deadline (from
   * its last renewal's sending): one slow answer (a loaded API server) that comes in time still
   * renews the Lease, where a fixed half of the deadline gave up on it. A candidate's calls keep
   * half the deadline.
   */
  #callTimeoutMs(): number {
    const ms = this.#leading ? this.#lastRenew + this.#deadlineMs - this.#now() : this.#deadlineMs / 2;
    return Math.max(100, Math.min(ms, 5000));
  }

  /** One round: take the lease if it is free or expired, renew it if ours. True when this candidate holds it afterwards. */
  async tryAcquireOrRenew(): Promise<boolean> {
    const { client, namespace, name, identity } = this.#o;
    const now = microTime();
    const fresh: LeaseRecord = {
      holderIdentity: identity,
      leaseDurationSeconds: Math.ceil(this.#durationMs / 1000),
      acquireTime: now,
      renewTime: now,
      leaseTransitions: 0,
    };
    if (await this.#renewLast(fresh)) return true;
    const timeoutMs = this.#callTimeoutMs();
    let current: LeaseObject;
    try {
      current = await client.request<LeaseObject>("GET", resourcePath(R.lease, namespace, name), { timeoutMs });
    } catch (err) {
      if (!(err instanceof KubeNotFoundError)) throw err;
      return this.#create(fresh, timeoutMs);
    }
    this.#observe(current);
    const rec = current.spec ?? {};
    const holder = rec.holderIdentity ?? "";
    const expired = this.#now() >= this.#observedAt + (rec.leaseDurationSeconds ?? 0) * 1000;
    if (holder !== "" && holder !== identity && !expired) return false;
    const next: LeaseRecord =
      holder === identity
        ? { ...fresh, acquireTime: rec.acquireTime ?? now, leaseTransitions: rec.leaseTransitions ?? 0 }
        : { ...fresh, leaseTransitions: (rec.leaseTransitions ?? 0) + 1 };
    return this.#update(current, next);
  }

  /**
   * A leader renews on the Lease it last wrote: one call per round. False when it is not the
   * leader of that record, or on a conflict (it changed since: a renewal whose answer came too
   * late, another writer): the round then reads it again.
   */
  async #renewLast(fresh: LeaseRecord): Promise<boolean> {
    const last = this.#observedObj;
    if (!this.#leading || last?.spec?.holderIdentity !== this.#o.identity) return false;
    return this.#update(last, { ...fresh, acquireTime: last.spec.acquireTime ?? fresh.acquireTime, leaseTransitions: last.spec.leaseTransitions ?? 0 });
  }

  /** Writes `spec` over `current` (its resourceVersion); false when someone wrote first (this round lost). */
  async #update(current: LeaseObject, spec: LeaseRecord): Promise<boolean> {
    const { client, namespace, name } = this.#o;
    try {
      const updated = await client.request<LeaseObject>("PUT", resourcePath(R.lease, namespace, name), {
        body: { apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { ...current.metadata }, spec },
        timeoutMs: this.#callTimeoutMs(),
      });
      this.#observe(updated);
      return true;
    } catch (err) {
      if (err instanceof KubeConflictError) return false;
      throw err;
    }
  }

  async #create(spec: LeaseRecord, timeoutMs: number): Promise<boolean> {
    const { client, namespace, name } = this.#o;
    try {
      const created = await client.request<LeaseObject>("POST", resourcePath(R.lease, namespace), {
        body: { apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name, namespace }, spec },
        timeoutMs,
      });
      this.#observe(created);
      return true;
    } catch (e) {
      if (e instanceof KubeConflictError) return false; // another candidate created it first
      throw e;
    }
  }

  /**
   * Gives the lease up if this candidate holds it (holder "", duration 1 s). A leader writes over
   * the Lease it last wrote — one call, the successor's wait shorter by a round trip on a slow API
   * server — and reads it first only when that write conflicts (it changed since). Errors are
   * logged, not thrown.
   */
  async release(): Promise<void> {
    const { client, namespace, name, identity, log } = this.#o;
    const timeoutMs = Math.max(100, Math.min(this.#deadlineMs, 3000));
    const put = async (current: LeaseObject): Promise<void> => {
      const now = microTime();
      const updated = await client.request<LeaseObject>("PUT", resourcePath(R.lease, namespace, name), {
        body: {
          apiVersion: "coordination.k8s.io/v1",
          kind: "Lease",
          metadata: current.metadata,
          spec: { ...current.spec, holderIdentity: "", leaseDurationSeconds: 1, renewTime: now, acquireTime: now },
        },
        timeoutMs,
      });
      this.#observe(updated);
    };
    try {
      const last = this.#observedObj;
      let written = false;
      if (last?.spec?.holderIdentity === identity) {
        try {
          await put(last);
          written = true;
        } catch (err) {
          if (!(err instanceof KubeConflictError)) throw err;
        }
      }
      if (!written) {
        const current = await client.request<LeaseObject>("GET", resourcePath(R.lease, namespace, name), { timeoutMs });
        if (current.spec?.holderIdentity !== identity) return;
        await put(current);
      }
      log.info({ lease: name }, "released the lease");
    } catch (err) {
      log.warn({ lease: name, err: errorMessage(err) }, "could not release the lease; the successor waits for it to expire");
    }
  }

  #observe(obj: LeaseObject): void {
    this.#observedObj = obj;
    const raw = JSON.stringify(obj.spec ?? {});
    if (raw === this.#observedRaw) return;
    this.#observedRaw = raw;
    this.#observedAt = this.#now();
    const holder = obj.spec?.holderIdentity ?? "";
    if (holder !== this.#leader) {
      this.#leader = holder;
      this.#o.onNewLeader?.(holder);
    }
  }

  /**
   * Tells the elector of its Lease as read elsewhere (one LIST of a namespace's Leases serving
   * several electors): counts as an observation, as its own reads do.
   */
  seen(obj: LeaseObject): void {
    if (obj.metadata.name === this.#o.name) this.#observe(obj);
  }

  /**
   * Whether the Lease is free as this candidate sees it: never observed or observed without a
   * holder, or its record unchanged for its whole duration since this candidate saw it change
   * (the same judgement as a round's; clock skew does not matter). Between observations this
   * says what the last one meant.
   */
  get free(): boolean {
    const holder = this.#observedObj?.spec?.holderIdentity ?? "";
    return holder === "" || this.#now() >= this.#observedAt + (this.#observedObj?.spec?.leaseDurationSeconds ?? 0) * 1000;
  }

  /** The last record seen and its resourceVersion (for status and tests). */
  get observed(): { record: LeaseRecord | undefined; resourceVersion: string } {
    return { record: this.#observedObj?.spec, resourceVersion: this.#observedObj?.metadata.resourceVersion ?? "" };
  }
}
