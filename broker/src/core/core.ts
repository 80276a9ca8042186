import {
  AlreadyExistsError,
  type Cluster,
  CidrOverlapError,
  type Endpoint,
  endpointLease,
  gatewayModeOf,
  CLUSTERSET_IP_BLOCK_PREFIX,
  CLUSTERSET_IP_RANGE,
  cidrsOverlap,
  exportName,
  GLOBALNET_EGRESS_IPS,
  GLOBALNET_MIN_PREFIX,
  GLOBALNET_OFF,
  type GlobalnetSettings,
  globalnetPrefix,
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

/** The CIDRs another member sees of `c` under globalnet: its pod and service CIDRs stay inside it. */
function globalCidrsOf(c: Cluster): string[] {
  return [...c.global_cidr, ...(c.clusterset_ip_cidr ?? [])];
}

/** How a join asks about globalnet: follow the broker (the default), or `join --globalnet=false`. */
export interface JoinOptions {
  readonly globalnetDisabled?: boolean;
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
  /** `deploy-broker --globalnet …`: members' pod and service CIDRs may overlap, their global CIDRs never do. */
  readonly globalnet: GlobalnetSettings;

  constructor(store: Store, now: () => number = Date.now, globalnet: GlobalnetSettings = GLOBALNET_OFF) {
    this.store = store;
    this.credentials = new Credentials(store, now);
    this.#now = now;
    this.globalnet = globalnet;
  }

  /**
   * Refuses to serve a clusterset whose members joined under other globalnet settings than the
   * broker now runs with (a restart without --globalnet would treat their overlapping CIDRs as a
   * conflict and their global CIDRs as noise), naming the members and the flag.
   */
  async checkMembers(): Promise<void> {
    const { records } = await this.store.list("cluster");
    const clusters = records.map((r) => parseValue("cluster", r.value));
    const wrong = clusters.filter((c) => c.global_cidr.length > 0 !== this.globalnet.enabled);
    if (wrong.length === 0) return;
    const names = wrong.map((c) => c.cluster_id).join(", ");
    throw new ValidationError(
      this.globalnet.enabled
        ? `members ${names} joined without globalnet, but the broker runs with --globalnet; start it without --globalnet, or remove them and join them again`
        : `members ${names} joined with globalnet (global CIDRs ${wrong.flatMap((c) => c.global_cidr).join(", ")}), but the broker runs without --globalnet; start it with --globalnet --globalnet-cidr-range as before`,
    );
  }

  /** Admin only. Adds a cluster to the clusterset and returns its credential. */
  async join(p: Principal, clusterJson: string, opts: JoinOptions = {}): Promise<{ clusterId: string; token: string; revision: number }> {
    requireAdmin(p, "join a cluster");
    const cluster = parseValue("cluster", clusterJson);
    this.#checkGlobalnetChoice(cluster, opts);
    return this.#membership.run(async () => {
      const existing = await this.store.get({ kind: "cluster", clusterId: cluster.cluster_id, name: cluster.cluster_id });
      if (existing) {
        throw new AlreadyExistsError(
          `cluster id "${cluster.cluster_id}" is already a member of the clusterset; choose another id or remove the existing cluster first`,
        );
      }
      const placed = await this.#placeClustersetBlock(await this.#placeGlobalCidr(cluster));
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
    const gn = this.globalnet.enabled;
    for (const r of records) {
      if (r.clusterId === c.cluster_id) continue;
      const other = parseValue("cluster", r.value);
      // Under globalnet only the addresses others route to must be apart: a global CIDR or a
      // clusterset block against every CIDR of the other member, and the other's against ours.
      const pairs: [string[], string[]][] = gn
        ? [
            [globalCidrsOf(c), cidrsOf(other)],
            [mine, globalCidrsOf(other)],
          ]
        : [[mine, cidrsOf(other)]];
      for (const [as, bs] of pairs) {
        for (const a of as) {
          const b = bs.find((x) => cidrsOverlap(a, x));
          if (b) throw new CidrOverlapError(overlapMessage(c.cluster_id, a, other.cluster_id, b, gn));
        }
      }
    }
  }

  /**
   * `c` with its global CIDR under globalnet: the one it names, else the one its record already
   * has (a re-join or a gateway's update keeps it), else the first free block of the range. A
   * member's global CIDR never changes while it is a member (exports and routes elsewhere hold its
   * addresses).
   */
  async #placeGlobalCidr(c: Cluster): Promise<Cluster> {
    if (!this.globalnet.enabled) return c;
    const { records } = await this.store.list("cluster");
    const clusters = records.map((r) => parseValue("cluster", r.value));
    const kept = clusters.find((x) => x.cluster_id === c.cluster_id)?.global_cidr ?? [];
    if (kept.length > 0) {
      if (c.global_cidr.length > 0 && c.global_cidr.join(",") !== kept.join(",")) {
        throw new ValidationError(
          `cluster ${c.cluster_id} has global CIDR ${kept.join(", ")}; a member's global CIDR cannot change (${c.global_cidr.join(", ")} was asked): remove the cluster and join it again`,
        );
      }
      return { ...c, global_cidr: [...kept] };
    }
    if (c.global_cidr.length > 1) throw new ValidationError(`cluster ${c.cluster_id}: one global CIDR per member (IPv4), not ${c.global_cidr.join(", ")}`);
    const small = c.global_cidr.find((g) => Number(g.split("/")[1]) > GLOBALNET_MIN_PREFIX);
    if (small) {
      throw new ValidationError(
        `--globalnet-cidr ${small} is too small: a cluster needs at least a /${GLOBALNET_MIN_PREFIX} (its health-check address, ${GLOBALNET_EGRESS_IPS} egress addresses and its services)`,
      );
    }
    if (c.global_cidr.length > 0) return c;
    const { cidrRange, clusterSize } = this.globalnet;
    const prefix = globalnetPrefix(clusterSize, cidrRange);
    const others = clusters.filter((x) => x.cluster_id !== c.cluster_id);
    const taken = [...cidrsOf(c), ...others.flatMap(globalCidrsOf), ...others.flatMap((x) => [...x.cluster_cidr, ...x.service_cidr])];
    const block = nextFreeBlock(cidrRange, prefix, taken);
    if (!block) {
      const blocks = 2 ** (prefix - Number(cidrRange.split("/")[1]));
      const used = others.filter((x) => x.global_cidr.some((g) => cidrsOverlap(g, cidrRange))).length;
      throw new CidrOverlapError(
        `the globalnet range ${cidrRange} is exhausted: ${used} of its ${blocks} /${prefix} blocks are used by members and no free one is left for cluster ${c.cluster_id}; pass --globalnet-cidr with a free CIDR outside it, or deploy the broker with a larger --globalnet-cidr-range`,
      );
    }
    return { ...c, global_cidr: [block] };
  }

  /** Refuses a member whose globalnet choice is not the broker's, naming the flag. */
  #checkGlobalnetChoice(c: Cluster, opts: JoinOptions): void {
    if (this.globalnet.enabled && opts.globalnetDisabled) {
      throw new ValidationError(
        `the broker runs globalnet (deploy-broker --globalnet, range ${this.globalnet.cidrRange}): every member translates to global addresses; join cluster ${c.cluster_id} without --globalnet=false`,
      );
    }
    if (!this.globalnet.enabled && c.global_cidr.length > 0) {
      throw new ValidationError(
        `cluster ${c.cluster_id} asks for global CIDR ${c.global_cidr.join(", ")} (--globalnet-cidr), but the broker runs without globalnet; join without --globalnet-cidr, or deploy the broker with --globalnet`,
      );
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
      this.#checkGlobalnetChoice(c, {});
      return this.#membership.run(async () => {
        const placed = await this.#placeClustersetBlock(await this.#placeGlobalCidr(c));
        await this.#checkCidrs(placed);
        return this.store.put({ kind, clusterId: input.clusterId, name: input.name, value: JSON.stringify(placed) }, opts);
      });
    }
    if (kind === "endpoint") {
      const e = value as Endpoint;
      if (e.cluster_id !== input.clusterId) throw new ValidationError(`endpoint.cluster_id ${e.cluster_id} ≠ record owner ${input.clusterId}`);
      if (e.cable_name !== input.name) throw new ValidationError("an endpoint record is named after its cable_name");
      await this.#checkGateways(e);
    }
    if (kind === "export") {
      const x = value as ServiceExport;
      if (input.name !== exportName(x.namespace, x.name))
        throw new ValidationError(`an export record is named <namespace>.<name> (${exportName(x.namespace, x.name)})`);
    }
    return this.store.put({ kind, clusterId: input.clusterId, name: input.name, value: JSON.stringify(value) }, opts);
  }

  /**
   * Refuses an Endpoint that clashes with a live gateway of its cluster on another node: the same
   * private IP (one cable name), the same WireGuard key, or the other gateway mode — naming both
   * nodes. Live: the other node holds the broker lease its Endpoint lives by (standalone mode,
   * api endpointLease); a stale Endpoint (its gateway gone or stepped down) clashes with nothing.
   */
  async #checkGateways(e: Endpoint): Promise<void> {
    const { records } = await this.store.list("endpoint");
    for (const r of records) {
      if (r.clusterId !== e.cluster_id) continue;
      const other = parseValue("endpoint", r.value);
      if (other.hostname === e.hostname || !(await this.#holds(e.cluster_id, endpointLease(other), other.hostname))) continue;
      const nodes = `nodes ${e.hostname} and ${other.hostname} of cluster ${e.cluster_id}`;
      if (other.cable_name === e.cable_name)
        throw new ValidationError(`${nodes} both publish a gateway at private IP ${e.private_ip}: give each gateway node its own address`);
      const key = e.backend_config.publicKey;
      if (key && key === other.backend_config.publicKey)
        throw new ValidationError(`${nodes} publish the same WireGuard key: each gateway needs its own (remove the copied key file on one of them)`);
      if (gatewayModeOf(other) !== gatewayModeOf(e))
        throw new ValidationError(
          `${nodes} run different gateway modes (${e.hostname}: ${gatewayModeOf(e)}, ${other.hostname}: ${gatewayModeOf(other)}): every gateway of a cluster needs the same one (site file gatewayMode); stop the others before changing it`,
        );
    }
  }

  /** Whether `holder` holds lease `name` of the cluster now. */
  async #holds(clusterId: string, name: string, holder: string): Promise<boolean> {
    const cur = await this.store.get({ kind: "lease", clusterId, name });
    if (!cur) return false;
    const l = parseValue("lease", cur.value);
    return l.holder === holder && l.renewedAtMs + l.ttlMs > this.#now();
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
    return { records: all.records.filter((r) => isKind(r.kind)), revision: all.revision };
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

function overlapMessage(id: string, a: string, otherId: string, b: string, globalnet: boolean): string {
  const head = `cluster ${id} CIDR ${a} overlaps cluster ${otherId} CIDR ${b}`;
  return globalnet
    ? `${head}; under globalnet, global CIDRs and clusterset IP blocks must be apart from every member's CIDRs (choose another --globalnet-cidr or --clusterset-ip-cidr)`
    : `${head}; clusters of one clusterset need disjoint pod, service and clusterset IP CIDRs — or deploy the broker with --globalnet, which lets members with overlapping CIDRs meet through global addresses`;
}

function requireAdmin(p: Principal, what: string): void {
  if (p.role !== "admin") throw new PermissionDeniedError(`only the admin credential may ${what}`);
}

function requireOwner(p: Principal, clusterId: string, verb: string): void {
  if (p.role === "cluster" && p.clusterId !== clusterId) {
    throw new PermissionDeniedError(`cluster ${p.clusterId} may not ${verb} records of cluster ${clusterId}`);
  }
}
