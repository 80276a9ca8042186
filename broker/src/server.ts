import { unlinkSync } from "node:fs";
import { type BrokerServer, BrokerService, type Kind, toServiceError, WatchEvent_Type, type WireRecord } from "@causeway/api";
import type { Logger } from "@causeway/common";
import { Server, ServerCredentials, type ServerWritableStream, type ServiceError, type Metadata } from "@grpc/grpc-js";
import { HealthImplementation } from "grpc-health-check";
import type { BrokerCore } from "./core/core.ts";
import type { Principal } from "./core/credentials.ts";
import type { StoredRecord, StoreEvent } from "./store/index.ts";

const SERVICE_NAME = "causeway.broker.v1.Broker";

function toWire(r: StoredRecord): WireRecord {
  return { kind: r.kind, clusterId: r.clusterId, name: r.name, valueJson: r.value, revision: r.revision, createRevision: r.createRevision };
}

function bearer(md: Metadata): string | undefined {
  const v = md.get("authorization")[0]?.toString();
  return v?.startsWith("Bearer ") ? v.slice(7) : undefined;
}

export interface BrokerServerOptions {
  readonly core: BrokerCore;
  readonly log: Logger;
  /** How often an idle watch stream gets a BOOKMARK carrying the current revision. */
  readonly bookmarkIntervalMs?: number;
}

type Unary<Req, Res> = (call: { request: Req; metadata: Metadata }, cb: (err: Partial<ServiceError> | null, res?: Res) => void) => void;

/** The gRPC face of BrokerCore: authentication, error mapping, watch streaming, health. */
export class BrokerGrpcServer {
  readonly #server = new Server({ "grpc.max_receive_message_length": 4 * 1024 * 1024 });
  readonly #health = new HealthImplementation({ "": "SERVING", [SERVICE_NAME]: "SERVING" });
  readonly #opts: BrokerServerOptions;
  readonly #streams = new Set<ServerWritableStream<unknown, unknown>>();
  readonly #bound: string[] = [];

  constructor(opts: BrokerServerOptions) {
    this.#opts = opts;
    this.#server.addService(BrokerService, this.#impl());
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
        this.#server.bindAsync(addr, ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
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
    const { core, log } = this.#opts;
    return (call, cb) => {
      core.credentials
        .authenticate(bearer(call.metadata))
        .then((p) => fn(p, call.request))
        .then(
          (res) => cb(null, res),
          (err: unknown) => {
            const e = err instanceof Error ? err : new Error(String(err));
            log.warn({ method, err: e.name, msg: e.message }, "broker call refused");
            cb(toServiceError(e));
          },
        );
    };
  }

  #impl(): BrokerServer {
    const { core } = this.#opts;
    return {
      join: this.#unary("Join", async (p, req: { clusterJson: string }) => core.join(p, req.clusterJson)),
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
    };
  }

  #watch(call: ServerWritableStream<{ kinds: string[]; fromRevision: number }, unknown>): void {
    const { core, log } = this.#opts;
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
      call.write({
        type: e.type === "put" ? WatchEvent_Type.PUT : WatchEvent_Type.DELETE,
        record: toWire(e.record),
        revision: e.revision,
      });
    };
    core.credentials
      .authenticate(bearer(call.metadata))
      .then((p) => core.watch(p, call.request.kinds as Kind[], call.request.fromRevision, send))
      .then(
        (unsub) => {
          stop = unsub;
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
          log.warn({ method: "Watch", err: e.name, msg: e.message }, "broker watch refused");
          call.destroy(toServiceError(e) as Error);
          cleanup();
        },
      );
  }
}
