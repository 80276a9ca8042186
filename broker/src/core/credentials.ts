import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { UnauthenticatedError, ValidationError } from "@causeway/api";
import type { Store } from "../store/index.ts";

/** Who is calling: the admin (deploy, join, leave) or one member cluster. */
export type Principal = { readonly role: "admin" } | { readonly role: "cluster"; readonly clusterId: string };

export const ADMIN_OWNER = "_admin";

const hash = (secret: string) => createHash("sha256").update(secret).digest();

/** A stored credential: digests only, never the secret. */
interface CredentialValue {
  readonly sha256: string;
  readonly createdAt: string;
  /** Rotations so far (1: as issued at join). */
  readonly generation?: number;
  /** ISO time after which the credential is refused; absent: never. */
  readonly expiresAt?: string;
  /** The credential it replaced, still accepted until validUntil (a rotation's grace period). */
  readonly previous?: { readonly sha256: string; readonly validUntil: string };
  /** Revoked: refused until rotated again (the cluster's records stay). */
  readonly revoked?: boolean;
}

export interface CredentialInfo {
  readonly clusterId: string;
  readonly generation: number;
  readonly createdAt: string;
  readonly expiresAt: string;
  readonly previousValidUntil: string;
  readonly revoked: boolean;
}

/** Why a token was refused: the metric's reason label. */
export type RefusalReason = "missing" | "malformed" | "unknown" | "expired" | "revoked";

/** An UnauthenticatedError that knows its reason (for the refusal counter). */
export class CredentialRefusedError extends UnauthenticatedError {
  readonly reason: RefusalReason;
  constructor(reason: RefusalReason, message: string) {
    super(message);
    this.reason = reason;
  }
}

const same = (digestHex: string, given: Buffer) => {
  const stored = Buffer.from(digestHex, "hex");
  return stored.length === given.length && timingSafeEqual(stored, given);
};

/**
 * Issues and checks bearer tokens. A token is `cwa.<secret>` (admin) or `cwc.<cluster>.<secret>`;
 * only the SHA-256 of the secret is stored, as a `credential` record owned by that cluster, so a
 * cluster's credential disappears with the cluster. Member credentials can expire, be rotated
 * (the previous one accepted for a grace period, so running components can be given the new one)
 * and be revoked.
 */
export class Credentials {
  readonly #store: Store;
  readonly #now: () => number;
  constructor(store: Store, now: () => number = Date.now) {
    this.#store = store;
    this.#now = now;
  }

  /** Registers `token` as the admin credential (idempotent for the same token). */
  async setAdmin(token: string): Promise<void> {
    const m = /^cwa\.([A-Za-z0-9_-]{16,})$/.exec(token);
    if (!m?.[1]) throw new UnauthenticatedError("admin token must look like cwa.<secret>");
    const digest = hash(m[1]).toString("hex");
    const cur = await this.#read(ADMIN_OWNER);
    if (cur?.sha256 === digest) return;
    await this.#write(ADMIN_OWNER, { sha256: digest, createdAt: new Date(this.#now()).toISOString(), generation: 1 });
  }

  static newAdminToken(): string {
    return `cwa.${randomBytes(32).toString("base64url")}`;
  }

  /** Creates (or replaces) a cluster's credential and returns the token, shown once. */
  async issue(clusterId: string, o: { ttlSeconds?: number } = {}): Promise<string> {
    const secret = randomBytes(32).toString("base64url");
    await this.#write(clusterId, {
      sha256: hash(secret).toString("hex"),
      createdAt: new Date(this.#now()).toISOString(),
      generation: 1,
      ...(o.ttlSeconds ? { expiresAt: new Date(this.#now() + o.ttlSeconds * 1000).toISOString() } : {}),
    });
    return `cwc.${clusterId}.${secret}`;
  }

  /**
   * A new credential for a member cluster; the current one stays valid for `graceSeconds` (0:
   * refused at once). Also the way back from a revocation. Returns the token, shown once.
   */
  async rotate(clusterId: string, o: { graceSeconds?: number; ttlSeconds?: number } = {}): Promise<{ token: string; generation: number; expiresAt: string }> {
    if (clusterId === ADMIN_OWNER) throw new ValidationError("the admin credential is rotated by redeploying the broker with a new admin token");
    const cur = await this.#read(clusterId);
    if (!cur) throw new ValidationError(`cluster ${clusterId} has no credential: it is not a member (causeway join adds it)`);
    const now = this.#now();
    const secret = randomBytes(32).toString("base64url");
    const generation = (cur.generation ?? 1) + 1;
    const expiresAt = o.ttlSeconds ? new Date(now + o.ttlSeconds * 1000).toISOString() : "";
    const keepOld = o.graceSeconds && !cur.revoked ? { previous: { sha256: cur.sha256, validUntil: new Date(now + o.graceSeconds * 1000).toISOString() } } : {};
    await this.#write(clusterId, {
      sha256: hash(secret).toString("hex"),
      createdAt: new Date(now).toISOString(),
      generation,
      ...(expiresAt ? { expiresAt } : {}),
      ...keepOld,
    });
    return { token: `cwc.${clusterId}.${secret}`, generation, expiresAt };
  }

  /** Refuses the cluster's credential from now on (its records stay; rotate issues a new one). False when it has none. */
  async revoke(clusterId: string): Promise<boolean> {
    if (clusterId === ADMIN_OWNER) throw new ValidationError("the admin credential cannot be revoked; redeploy the broker with a new admin token");
    const cur = await this.#read(clusterId);
    if (!cur) return false;
    const { previous: _previous, ...rest } = cur;
    await this.#write(clusterId, { ...rest, revoked: true });
    return true;
  }

  /** Every credential's metadata (never a digest). */
  async list(): Promise<CredentialInfo[]> {
    const { records } = await this.#store.list("credential");
    return records.map((r) => {
      const v = JSON.parse(r.value) as CredentialValue;
      return {
        clusterId: r.clusterId,
        generation: v.generation ?? 1,
        createdAt: v.createdAt,
        expiresAt: v.expiresAt ?? "",
        previousValidUntil: v.previous?.validUntil ?? "",
        revoked: v.revoked === true,
      };
    });
  }

  async #read(owner: string): Promise<CredentialValue | undefined> {
    const rec = await this.#store.get({ kind: "credential", clusterId: owner, name: "token" });
    return rec ? (JSON.parse(rec.value) as CredentialValue) : undefined;
  }

  async #write(owner: string, v: CredentialValue): Promise<void> {
    await this.#store.put({ kind: "credential", clusterId: owner, name: "token", value: JSON.stringify(v) });
  }

  /** Resolves a bearer token to its principal; throws CredentialRefusedError (an UnauthenticatedError) naming why. */
  async authenticate(token: string | undefined): Promise<Principal> {
    const { owner, given } = parseToken(token);
    let cur = await this.#read(owner);
    // Another broker replica may have issued it a moment ago: read once more after catching up.
    if (!matches(cur, given) && this.#store.sync) {
      await this.#store.sync();
      cur = await this.#read(owner);
    }
    checkCredential(owner, cur, given, this.#now());
    return owner === ADMIN_OWNER ? { role: "admin" } : { role: "cluster", clusterId: owner };
  }
}

/** Pure: the owner of a bearer token and its secret's digest; refuses a missing or malformed token. */
function parseToken(token: string | undefined): { owner: string; given: Buffer } {
  if (!token) throw new CredentialRefusedError("missing", "no credential: send 'authorization: Bearer <token>'");
  const admin = /^cwa\.(.+)$/.exec(token);
  const member = /^cwc\.([a-z0-9-]{1,63})\.(.+)$/.exec(token);
  const owner = admin ? ADMIN_OWNER : member?.[1];
  const secret = admin?.[1] ?? member?.[2];
  if (!owner || !secret) throw new CredentialRefusedError("malformed", "malformed credential");
  return { owner, given: hash(secret) };
}

const matches = (cur: CredentialValue | undefined, given: Buffer) =>
  cur !== undefined && (same(cur.sha256, given) || (cur.previous !== undefined && same(cur.previous.sha256, given)));

/** Pure: refuses a token that is unknown, revoked, past its rotation's grace period, or expired. */
function checkCredential(owner: string, cur: CredentialValue | undefined, given: Buffer, now: number): void {
  const who = owner === ADMIN_OWNER ? "admin credential" : `credential for cluster ${owner}`;
  if (!cur || !matches(cur, given)) throw new CredentialRefusedError("unknown", `unknown ${who}`);
  const fix = `an admin issues a new one with 'causeway broker credentials rotate ${owner}'`;
  if (cur.revoked) throw new CredentialRefusedError("revoked", `the ${who} was revoked; ${fix}`);
  if (!same(cur.sha256, given) && Date.parse(cur.previous?.validUntil ?? "") <= now) {
    throw new CredentialRefusedError("expired", `the ${who} was replaced and its grace period ended at ${cur.previous?.validUntil}; use the new one`);
  }
  if (cur.expiresAt && Date.parse(cur.expiresAt) <= now) throw new CredentialRefusedError("expired", `the ${who} expired at ${cur.expiresAt}; ${fix}`);
}
