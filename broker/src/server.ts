import { unlinkSync } from "node:fs";
import {
  AlreadyExistsError,
  type BrokerServer,
  ConflictError,
  type Kind,
  PermissionDeniedError,
  UnauthenticatedError,
  ValidationError,
  type WatchEvent,
  type WireRecord,
} from "@causeway/api";
import { BrokerService, toServiceError, WatchEvent_Type } from "@causeway/api/grpc";
import type { Logger } from "@causeway/common";
import { Server, ServerCredentials, type ServerWritableStream, type ServiceError, Metadata } from "@grpc/grpc-js";
import { HealthImplementation } from "grpc-health-check";
import type { BrokerCore } from "./core/core.ts";
import { RecordTooLargeError } from "./core/core.ts";
import { CredentialRefusedError, type Principal } from "./core/credentials.ts";
import type { StoredRecord, StoreEvent } from "./store/index.ts";

const SERVICE_NAME = "causeway.broker.v1.Broker";

function toWire(r: StoredRecord): WireRecord {
  return { kind: r.kind, clusterId: r.clusterId, name: r.name, valueJson: r.value, revision: r.revision, createRevision: r.createRevision };
}

const principalName = (p: Principal | undefined) => (!p ? "(unauthenticated)" : p.role === "admin" ? "admin" : `cluster/${p.clusterId}`);

/** What a request is about, for the audit line (never a credential or a record's value). */
function targetOf(req: unknown): string {
  const r = req as { record?: { kind?: string; clusterId?: string; name?: string }; kind?: string; clusterId?: string; name?: string; kinds?: string[] };
  const rec = r.record ?? r;
  if (rec.kind || rec.name) return `${rec.kind ?? ""}/${rec.clusterId ?? ""}/${rec.name ?? ""}`;
  if (r.clusterId) return `cluster/${r.clusterId}`;
  if (r.kinds) return `kinds:${r.kinds.join(",") || "*"}`;
  return "";
}

function bearer(md: Metadata): string | undefined {
  const v = md.get("authorization")[0]?.toString();
  return v?.startsWith("Bearer ") ? v.slice(7) : undefined;
}

/** What a refused call was refused for (the refusal counter's label). */
export function refusalReason(err: Error): string | undefined {
  if (err instanceof CredentialRefusedError) return `unauthenticated-${err.reason}`;
  if (err instanceof UnauthenticatedError) return "unauthenticated";
  if (err instanceof PermissionDeniedError) return "forbidden";
  if (err instanceof RecordTooLargeError) return "too-large";
  if (err instanceof ValidationError) return "invalid";
  if (err instanceof ConflictError || err instanceof AlreadyExistsError) return "conflict";
  return undefined;
}

/** The broker's counters: calls refused (by method and reason) and writes done (by method). */
export interface BrokerCallMetrics {
  refused(method: string, reason: string): void;
  wrote(method: string): void;
}

/** Calls that change the store and are audited (lease renewals, several a second per cluster, are not). */
const AUDITED = new Set(["Join", "Leave", "Put", "Delete", "AcquireLease", "ReleaseLease", "RotateCredential", "RevokeCredential"]);

/**
 * The service with one change: a watch event already encoded (a Buffer) is sent as it is, so an
 * event going to a hundred watchers is encoded once, not a hundred times.
 */
const WATCH_SHARED_ENCODING = {
  ...BrokerService,
  watch: {
    ...BrokerService.watch,
    responseSerialize: (value: WatchEvent | Buffer): Buffer => (Buffer.isBuffer(value) ? value : BrokerService.watch.responseSerialize(value)),
  },
};

/** Each committed event's encoding, made by the first watch stream that sends it and reused by the others. */
const encodedEvents = new WeakMap<StoreEvent, Buffer>();

function encodedEvent(e: StoreEvent): Buffer {
  let b = encodedEvents.get(e);
  if (!b) {
    b = BrokerService.watch.responseSerialize({
      type: e.type === "put" ? WatchEvent_Type.PUT : WatchEvent_Type.DELETE,
      record: toWire(e.record),
      revision: e.revision,
    });
    encodedEvents.set(e, b);
  }
  return b;
}

/** The largest request accepted (a record is at most 256 KiB; larger messages are refused by gRPC itself). */
export const MAX_REQUEST_BYTES = 1024 * 1024;

export interface BrokerServerOptions {
  readonly core: BrokerCore;
  readonly log: Logger;
  readonly metrics?: BrokerCallMetrics;
  /** TLS: PEM key and certificate chain; absent: plaintext (the lab, or a mesh that encrypts). */
  readonly tls?: { readonly key: Buffer; readonly cert: Buffer };
  /** How often an idle watch stream gets a BOOKMARK carrying the current revision. */
  readonly bookmarkIntervalMs?: number;
}

type Unary<Req, Res> = (call: { request: Req; metadata: Metadata }, cb: (err: Partial<ServiceError> | null, res?: Res) => void) => void;

/** The gRPC face of BrokerCore: authentication, error mapping, watch streaming, health. */
export class BrokerGrpcServer {
  readonly #server = new Server({ "grpc.max_receive_message_length": MAX_REQUEST_BYTES });
  readonly #health = new HealthImplementation({ "": "SERVING", [SERVICE_NAME]: "SERVING" });
  readonly #opts: BrokerServerOptions;
  readonly #streams = new Set<ServerWritableStream<unknown, unknown>>();
  readonly #bound: string[] = [];

  constructor(opts: BrokerServerOptions) {
    this.#opts = opts;
    this.#server.addService(WATCH_SHARED_ENCODING, this.#impl());
    this.#health.addToServer(this.#server);
  }

  /** Binds each address (host:port or unix:///path); resolves to the bound addresses with real ports. */
  async listen(addresses: readonly string[]): Promise<string[]> {
    for (const addr of addresses) {
      if (addr.startsWith("unix://")) {
        try {
          unlinkSync(addr.replace(/^unix:\/\//, ""));
        } catch {
          // no stale socket to remove
        }
      }
      const port = await new Promise<number>((resolve, reject) => {
        // Unix sockets are the host's own (file permissions guard them); every network address gets TLS when configured.
        const tls = this.#opts.tls;
        const creds =
          tls && !addr.startsWith("unix:")
            ? ServerCredentials.createSsl(null, [{ private_key: tls.key, cert_chain: tls.cert }], false)
            : ServerCredentials.createInsecure();
        this.#server.bindAsync(addr, creds, (err, p) => (err ? reject(err) : resolve(p)));
      });
      this.#bound.push(addr.startsWith("unix:") ? addr : addr.replace(/:\d+$/, `:${port}`));
    }
    return [...this.#bound];
  }

  /** Stops accepting calls, ends open watch streams, and waits briefly for in-flight calls. */
  async close(): Promise<void> {
    this.#health.setStatus("", "NOT_SERVING");
    for (const s of this.#streams) s.end();
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        this.#server.forceShutdown();
        resolve();
      }, 2000);
      this.#server.tryShutdown(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  #unary<Req, Res>(method: string, fn: (p: Principal, req: Req) => Promise<Res>): Unary<Req, Res> {
    const { core } = this.#opts;
    return (call, cb) => {
      let who: Principal | undefined;
      core.credentials
        .authenticate(bearer(call.metadata))
        .then((p) => {
          who = p;
          return fn(p, call.request);
        })
        .then(
          (res) => {
            if (AUDITED.has(method)) this.#audit(method, who, call.request, res);
            cb(null, res);
          },
          (err: unknown) => {
            const e = err instanceof Error ? err : new Error(String(err));
            this.#refused(method, who, call.request, e);
            cb(toServiceError(e));
          },
        );
    };
  }

  /** One audit line per write: who, what, the revision it made. */
  #audit(method: string, who: Principal | undefined, req: unknown, res: unknown): void {
    this.#opts.metrics?.wrote(method);
    this.#opts.log.info(
      { audit: true, method, principal: principalName(who), target: targetOf(req), revision: (res as { revision?: number }).revision },
      "broker write",
    );
  }

  /** One audit line and a count per refusal (other failures, e.g. an unavailable store, are logged as errors). */
  #refused(method: string, who: Principal | undefined, req: unknown, e: Error): void {
    const reason = refusalReason(e);
    if (reason) this.#opts.metrics?.refused(method, reason);
    const line = { audit: true, method, principal: principalName(who), target: targetOf(req), reason: reason ?? "error", err: e.name, msg: e.message };
    if (reason) this.#opts.log.warn(line, "broker call refused");
    else this.#opts.log.error(line, "broker call failed");
  }

  #impl(): BrokerServer {
    const { core } = this.#opts;
    return {
      join: this.#unary("Join", async (p, req: { clusterJson: string; globalnetDisabled: boolean }) =>
        core.join(p, req.clusterJson, { globalnetDisabled: req.globalnetDisabled }),
      ),
      leave: this.#unary("Leave", async (p, req: { clusterId: string }) => core.leave(p, req.clusterId)),
      put: this.#unary("Put", async (p, req: { record?: WireRecord; expectedRevision: number; createOnly: boolean }) => {
        const r = req.record ?? { kind: "", clusterId: "", name: "", valueJson: "" };
        const stored = await core.put(p, r, { expectedRevision: req.expectedRevision, createOnly: req.createOnly });
        return { record: toWire(stored) };
      }),
      delete: this.#unary("Delete", async (p, req: { kind: string; clusterId: string; name: string; expectedRevision: number }) =>
        core.delete(p, req, req.expectedRevision),
      ),
      list: this.#unary("List", async (p, req: { kind: string }) => {
        const { records, revision } = await core.list(p, req.kind);
        return { records: records.map(toWire), revision };
      }),
      watch: (call) => this.#watch(call),
      acquireLease: this.#unary("AcquireLease", async (p, r: { name: string; holder: string; ttlMs: number }) =>
        core.acquireLease(p, r.name, r.holder, r.ttlMs),
      ),
      renewLease: this.#unary("RenewLease", async (p, r: { name: string; holder: string; ttlMs: number }) => core.renewLease(p, r.name, r.holder, r.ttlMs)),
      releaseLease: this.#unary("ReleaseLease", async (p, r: { name: string; holder: string }) => core.releaseLease(p, r.name, r.holder)),
      whoAmI: this.#unary("WhoAmI", async (p) => ({ role: p.role, clusterId: p.role === "cluster" ? p.clusterId : "" })),
      clusterset: this.#unary("Clusterset", async () => {
        const g = core.globalnet;
        return { globalnet: g.enabled, globalnetCidrRange: g.cidrRange, globalnetClusterSize: g.clusterSize };
      }),
      rotateCredential: this.#unary("RotateCredential", async (p, r: { clusterId: string; graceSeconds: number; ttlSeconds: number }) =>
        core.rotateCredential(p, r.clusterId, { graceSeconds: r.graceSeconds, ttlSeconds: r.ttlSeconds }),
      ),
      revokeCredential: this.#unary("RevokeCredential", async (p, r: { clusterId: string }) => ({ revoked: await core.revokeCredential(p, r.clusterId) })),
      listCredentials: this.#unary("ListCredentials", async (p) => ({ credentials: await core.listCredentials(p) })),
    };
  }

  #watch(call: ServerWritableStream<{ kinds: string[]; fromRevision: number }, unknown>): void {
    const { core } = this.#opts;
    const bookmarkMs = this.#opts.bookmarkIntervalMs ?? 10_000;
    let stop: (() => void) | undefined;
    let timer: NodeJS.Timeout | undefined;
    let last = call.request.fromRevision;
    const cleanup = () => {
      stop?.();
      if (timer) clearInterval(timer);
      this.#streams.delete(call);
    };
    call.on("cancelled", cleanup);
    call.on("close", cleanup);
    this.#streams.add(call);
    const send = (e: StoreEvent) => {
      last = e.revision;
      call.write(encodedEvent(e));
    };
    core.credentials
      .authenticate(bearer(call.metadata))
      .then((p) => core.watch(p, call.request.kinds as Kind[], call.request.fromRevision, send))
      .then(
        (unsub) => {
          stop = unsub;
          // The headers now: the client knows its watch is established (before any event or bookmark).
          // A call the client already dropped gets none (cleaned up just below).
          if (!call.cancelled)
            try {
              call.sendMetadata(new Metadata());
            } catch {
              // the stream closed meanwhile: its close handler cleans up
            }
          timer = setInterval(() => {
            void core.store.revision().then((rev) => {
              if (rev > last) return; // events are flowing; a bookmark would only repeat them
              call.write({ type: WatchEvent_Type.BOOKMARK, revision: rev });
            });
          }, bookmarkMs);
          if (call.cancelled) cleanup();
        },
        (err: unknown) => {
          const e = err instanceof Error ? err : new Error(String(err));
          this.#refused("Watch", undefined, call.request, e);
          call.destroy(toServiceError(e) as Error);
          cleanup();
        },
      );
  }
}
