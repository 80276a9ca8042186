import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { UnauthenticatedError } from "@causeway/api";
import type { Store } from "../store/index.ts";

/** Who is calling: the admin (deploy, join, leave) or one member cluster. */
export type Principal = { readonly role: "admin" } | { readonly role: "cluster"; readonly clusterId: string };

const ADMIN_OWNER = "_admin";

const hash = (secret: string) => createHash("sha256").update(secret).digest();

/**
 * Issues and checks bearer tokens. A token is `cwa.<secret>` (admin) or `cwc.<cluster>.<secret>`;
 * only the SHA-256 of the secret is stored, as a `credential` record owned by that cluster, so a
 * cluster's credential disappears with the cluster.
 */
export class Credentials {
  readonly #store: Store;
  constructor(store: Store) {
    this.#store = store;
  }

  /** Registers `token` as the admin credential (idempotent for the same token). */
  async setAdmin(token: string): Promise<void> {
    const m = /^cwa\.([A-Za-z0-9_-]{16,})$/.exec(token);
    if (!m?.[1]) throw new UnauthenticatedError("admin token must look like cwa.<secret>");
    await this.#put(ADMIN_OWNER, hash(m[1]));
  }

  static newAdminToken(): string {
    return `cwa.${randomBytes(32).toString("base64url")}`;
  }

  /** Creates (or replaces) a cluster's credential and returns the token, shown once. */
  async issue(clusterId: string): Promise<string> {
    const secret = randomBytes(32).toString("base64url");
    await this.#put(clusterId, hash(secret));
    return `cwc.${clusterId}.${secret}`;
  }

  async #put(owner: string, digest: Buffer): Promise<void> {
    const value = JSON.stringify({ sha256: digest.toString("hex"), createdAt: new Date().toISOString() });
    await this.#store.put({ kind: "credential", clusterId: owner, name: "token", value });
  }

  /** Resolves a bearer token to its principal; throws UnauthenticatedError for anything unknown. */
  async authenticate(token: string | undefined): Promise<Principal> {
    if (!token) throw new UnauthenticatedError("no credential: send 'authorization: Bearer <token>'");
    const admin = /^cwa\.(.+)$/.exec(token);
    const member = /^cwc\.([a-z0-9-]{1,63})\.(.+)$/.exec(token);
    const owner = admin ? ADMIN_OWNER : member?.[1];
    const secret = admin?.[1] ?? member?.[2];
    if (!owner || !secret) throw new UnauthenticatedError("malformed credential");
    const rec = await this.#store.get({ kind: "credential", clusterId: owner, name: "token" });
    const stored = rec ? Buffer.from((JSON.parse(rec.value) as { sha256: string }).sha256, "hex") : undefined;
    const given = hash(secret);
    if (!stored || stored.length !== given.length || !timingSafeEqual(stored, given)) {
      throw new UnauthenticatedError(owner === ADMIN_OWNER ? "unknown admin credential" : `unknown credential for cluster ${owner}`);
    }
    return owner === ADMIN_OWNER ? { role: "admin" } : { role: "cluster", clusterId: owner };
  }
}
