import {
  AlreadyExistsError,
  type Cluster,
  CidrOverlapError,
  type Endpoint,
  CLUSTERSET_IP_BLOCK_PREFIX,
  CLUSTERSET_IP_RANGE,
  cidrsOverlap,
  exportName,
  nextFreeBlock,
  type Kind,
  KINDS,
  NotFoundError,
  parseValue,
  PermissionDeniedError,
  type ServiceExport,
  ValidationError,
} from "@causeway/api";
import type { Store, StoredRecord, StoreEvent, StoreKind, Unsubscribe } from "../store/index.ts";
import type { Principal } from "./credentials.ts";
import { Credentials } from "./credentials.ts";

export interface RecordInput {
  readonly kind: string;
  readonly clusterId: string;
  readonly name: string;
  readonly valueJson: string;
}

export interface LeaseResult {
  readonly held: boolean;
  readonly holder: string;
  readonly expiresInMs: number;
}

const PUBLIC_KINDS: readonly StoreKind[] = KINDS;

function isKind(k: string): k is Kind {
  return (KINDS as readonly string[]).includes(k);
}

function cidrsOf(c: Cluster): string[] {
  return [...c.cluster_cidr, ...c.service_cidr, ...c.global_cidr, ...(c.clusterset_ip_cidr ?? [])];
}

/** The largest record value the broker stores (an export of ~3,000 endpoints fits). */
export const MAX_RECORD_BYTES = 256 * 1024;
const MAX_NAME_CHARS = 512;

/** A record over the size limits: refused before anything is parsed or stored. */
export class RecordTooLargeError extends ValidationError {
  override name = "RecordTooLargeError";
}

/** Runs async critical sections one at a time (membership changes must not interleave). */
class Mutex {
  #tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#tail.then(fn, fn);
    this.#tail = next.catch(() => undefined);
    return next;
  }
}

/**
 * The broker's rules, independent of gRPC: who may write what, validation at the door,
 * membership (join/leave with CIDR overlap checks) and leases.
 */
export class BrokerCore {
  readonly store: Store;
  readonly credentials: Credentials;
  readonly #membership = new Mutex();
  readonly #now: () => number;

  constructor(store: Store, now: () => number = Date.now) {
    this.store = store;
    this.credentials = new Credentials(store, now);
    this.#now = now;
  }

  /** Admin only. Adds a cluster to the clusterset and returns its credential. */
  async join(p: Principal, clusterJson: string): Promise<{ clusterId: string; token: string; revision: number }> {
    requireAdmin(p, "join a cluster");
    const cluster = parseValue("cluster", clusterJson);
    return this.#membership.run(async () => {
      const existing = await this.store.get({ kind: "cluster", clusterId: cluster.cluster_id, name: cluster.cluster_id });
      if (existing) {
        throw new AlreadyExistsError(
          `cluster id "${cluster.cluster_id}" is already a member of the clusterset; choose another id or remove the existing cluster first`,
        );
      }
      const placed = await this.#placeClustersetBlock(cluster);
      await this.#checkCidrs(placed);
      const rec = await this.store.put(
        { kind: "cluster", clusterId: cluster.cluster_id, name: cluster.cluster_id, value: JSON.stringify(placed) },
        { createOnly: true },
      );
      const token = await this.credentials.issue(cluster.cluster_id);
      return { clusterId: cluster.cluster_id, token, revision: rec.revision };
    });
  }

  /** Admin or the cluster itself. Removes the cluster and every record it owns (its credential too). */
  async leave(p: Principal, clusterId: string): Promise<{ revision: number; deleted: number }> {
    requireOwner(p, clusterId, "remove");
    return this.#membership.run(() => this.store.deleteCluster(clusterId));
  }

  /**
   * `c` with its clusterset IP block: the one it names, else the one its record already has
   * (a re-join or a gateway's update keeps it), else the next /20 of 243.0.0.0/8 free of every
   * member's CIDRs and blocks (and its own). CidrOverlapError when none is free.
   */
  async #placeClustersetBlock(c: Cluster): Promise<Cluster> {
    if (c.clusterset_ip_cidr?.length) return c;
    const { records } = await this.store.list("cluster");
    const clusters = records.map((r) => parseValue("cluster", r.value));
    const kept = clusters.find((x) => x.cluster_id === c.cluster_id)?.clusterset_ip_cidr ?? [];
    if (kept.length > 0) return { ...c, clusterset_ip_cidr: [...kept] };
    const taken = [...cidrsOf(c), ...clusters.filter((x) => x.cluster_id !== c.cluster_id).flatMap(cidrsOf)];
    const block = nextFreeBlock(CLUSTERSET_IP_RANGE, CLUSTERSET_IP_BLOCK_PREFIX, taken);
    if (!block) {
      throw new CidrOverlapError(
        `no free /${CLUSTERSET_IP_BLOCK_PREFIX} clusterset IP block is left in ${CLUSTERSET_IP_RANGE} for cluster ${c.cluster_id}; pass --clusterset-ip-cidr with a free CIDR`,
      );
    }
    return { ...c, clusterset_ip_cidr: [block] };
  }

  async #checkCidrs(c: Cluster): Promise<void> {
    const mine = cidrsOf(c);
    for (let i = 0; i < mine.length; i++) {
      for (let j = i + 1; j < mine.length; j++) {
        const [a, b] = [mine[i] ?? "", mine[j] ?? ""];
        if (cidrsOverlap(a, b)) throw new ValidationError(`cluster ${c.cluster_id}: its own CIDRs ${a} and ${b} overlap`);
      }
    }
    const { records } = await this.store.list("cluster");
    for (const r of records) {
      if (r.clusterId === c.cluster_id) continue;
      const other = parseValue("cluster", r.value);
      for (const a of mine) {
        const b = cidrsOf(other).find((x) => cidrsOverlap(a, x));
        if (b) {
          throw new CidrOverlapError(
            `cluster ${c.cluster_id} CIDR ${a} overlaps cluster ${other.cluster_id} CIDR ${b}; clusters of one clusterset need disjoint pod, service and clusterset IP CIDRs`,
          );
        }
      }
    }
  }

  /** Validated create-or-replace of one record; a cluster may write only its own records. */
  async put(p: Principal, input: RecordInput, opts: { expectedRevision?: number; createOnly?: boolean } = {}) {
    const kind = this.#checkWrite(p, input);
    if (kind === "lease") throw new ValidationError("leases are written through AcquireLease/RenewLease/ReleaseLease");
    const value = parseValue(kind, input.valueJson);
    await this.#requireMember(input.clusterId);
    if (kind === "cluster") {
      const c = value as Cluster;
      if (c.cluster_id !== input.clusterId || input.name !== input.clusterId) {
        throw new ValidationError("a cluster record is named after its own cluster_id");
      }
      return this.#membership.run(async () => {
        const placed = await this.#placeClustersetBlock(c);
        await this.#checkCidrs(placed);
        return this.store.put({ kind, clusterId: input.clusterId, name: input.name, value: JSON.stringify(placed) }, opts);
      });
    }
    if (kind === "endpoint") {
      const e = value as Endpoint;
      if (e.cluster_id !== input.clusterId) throw new ValidationError(`endpoint.cluster_id ${e.cluster_id} ≠ record owner ${input.clusterId}`);
      if (e.cable_name !== input.name) throw new ValidationError("an endpoint record is named after its cable_name");
    }
    if (kind === "export") {
      const x = value as ServiceExport;
      if (input.name !== exportName(x.namespace, x.name))
        throw new ValidationError(`an export record is named <namespace>.<name> (${exportName(x.namespace, x.name)})`);
    }
    return this.store.put({ kind, clusterId: input.clusterId, name: input.name, value: JSON.stringify(value) }, opts);
  }

  async delete(p: Principal, key: { kind: string; clusterId: string; name: string }, expectedRevision = 0) {
    const kind = this.#checkWrite(p, { ...key, valueJson: "" });
    return this.store.delete({ kind, clusterId: key.clusterId, name: key.name }, { expectedRevision });
  }

  #checkWrite(p: Principal, input: RecordInput): Kind {
    if (!isKind(input.kind)) throw new ValidationError(`unknown kind "${input.kind}"; kinds are ${KINDS.join(", ")}`);
    if (!input.name) throw new ValidationError("record name is empty");
    if (input.name.length > MAX_NAME_CHARS) throw new RecordTooLargeError(`record name is ${input.name.length} characters; the limit is ${MAX_NAME_CHARS}`);
    if (Buffer.byteLength(input.valueJson) > MAX_RECORD_BYTES) {
      throw new RecordTooLargeError(`record value is ${Buffer.byteLength(input.valueJson)} bytes; the limit is ${MAX_RECORD_BYTES} (256 KiB)`);
    }
    requireOwner(p, input.clusterId, "write");
    return input.kind;
  }

  async #requireMember(clusterId: string): Promise<void> {
    const c = await this.store.get({ kind: "cluster", clusterId, name: clusterId });
    if (!c) throw new NotFoundError(`cluster ${clusterId} has not joined the clusterset`);
  }

  /** Any authenticated caller may read every public kind. */
  async list(_p: Principal, kind: string): Promise<{ records: StoredRecord[]; revision: number }> {
    if (kind) {
      if (!isKind(kind)) throw new ValidationError(`unknown kind "${kind}"; kinds are ${KINDS.join(", ")}`);
      return this.store.list(kind);
    }
    const all = await this.store.list();
    return { records: all.records.filter((r) => r.kind !== "credential"), revision: all.revision };
  }

  async watch(_p: Principal, kinds: readonly string[], from: number, onEvent: (e: StoreEvent) => void): Promise<Unsubscribe> {
    for (const k of kinds) if (!isKind(k)) throw new ValidationError(`unknown kind "${k}"; kinds are ${KINDS.join(", ")}`);
    return this.store.watch(from, kinds.length ? (kinds as Kind[]) : PUBLIC_KINDS, onEvent);
  }

  /** Admin only. A new credential for a member cluster (the old one valid for graceSeconds more). */
  async rotateCredential(p: Principal, clusterId: string, o: { graceSeconds?: number; ttlSeconds?: number }) {
    requireAdmin(p, "rotate credentials");
    return this.credentials.rotate(clusterId, o);
  }

  /** Admin only. The cluster's credential is refused from now on. */
  async revokeCredential(p: Principal, clusterId: string): Promise<boolean> {
    requireAdmin(p, "revoke credentials");
    return this.credentials.revoke(clusterId);
  }

  async listCredentials(p: Principal) {
    requireAdmin(p, "list credentials");
    return this.credentials.list();
  }

  /** Takes the lease when free, expired, or already ours; otherwise reports the holder. */
  async acquireLease(p: Principal, name: string, holder: string, ttlMs: number): Promise<LeaseResult> {
    const clusterId = this.#leaseOwner(p, name, holder, ttlMs);
    const key = { kind: "lease" as const, clusterId, name };
    const cur = await this.store.get(key);
    const now = this.#now();
    if (cur) {
      const l = parseValue("lease", cur.value);
      const left = l.renewedAtMs + l.ttlMs - now;
      if (l.holder !== holder && left > 0) return { held: false, holder: l.holder, expiresInMs: left };
    }
    const value = JSON.stringify({ holder, ttlMs, renewedAtMs: now });
    await this.store.put({ ...key, value }, cur ? { expectedRevision: cur.revision } : { createOnly: true });
    return { held: true, holder, expiresInMs: ttlMs };
  }

  /** Extends the lease if `holder` still holds it; held=false otherwise (never steals). */
  async renewLease(p: Principal, name: string, holder: string, ttlMs: number): Promise<LeaseResult> {
    const clusterId = this.#leaseOwner(p, name, holder, ttlMs);
    const key = { kind: "lease" as const, clusterId, name };
    const cur = await this.store.get(key);
    const now = this.#now();
    if (!cur) return { held: false, holder: "", expiresInMs: 0 };
    const l = parseValue("lease", cur.value);
    if (l.holder !== holder || l.renewedAtMs + l.ttlMs <= now) {
      return { held: false, holder: l.holder, expiresInMs: Math.max(0, l.renewedAtMs + l.ttlMs - now) };
    }
    await this.store.put({ ...key, value: JSON.stringify({ holder, ttlMs, renewedAtMs: now }) }, { expectedRevision: cur.revision });
    return { held: true, holder, expiresInMs: ttlMs };
  }

  /** Gives the lease up if `holder` holds it; idempotent. */
  async releaseLease(p: Principal, name: string, holder: string): Promise<LeaseResult> {
    const clusterId = this.#leaseOwner(p, name, holder, 1);
    const key = { kind: "lease" as const, clusterId, name };
    const cur = await this.store.get(key);
    if (cur && parseValue("lease", cur.value).holder === holder) {
      await this.store.delete(key, { expectedRevision: cur.revision });
    }
    return { held: false, holder: "", expiresInMs: 0 };
  }

  #leaseOwner(p: Principal, name: string, holder: string, ttlMs: number): string {
    if (p.role !== "cluster") throw new PermissionDeniedError("leases belong to member clusters; use a cluster credential");
    if (!name || !holder) throw new ValidationError("lease name and holder are required");
    if (!Number.isInteger(ttlMs) || ttlMs <= 0) throw new ValidationError("lease ttl_ms must be a positive integer");
    return p.clusterId;
  }
}

function requireAdmin(p: Principal, what: string): void {
  if (p.role !== "admin") throw new PermissionDeniedError(`only the admin credential may ${what}`);
}

function requireOwner(p: Principal, clusterId: string, verb: string): void {
  if (p.role === "cluster" && p.clusterId !== clusterId) {
    throw new PermissionDeniedError(`cluster ${p.clusterId} may not ${verb} records of cluster ${clusterId}`);
  }
}
