import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { type Logger, newRegistry, ProbeServer } from "@causeway/common";
import { Counter, Gauge, type Registry } from "prom-client";
import { z } from "zod";
import { BrokerCore } from "./core/core.ts";
import { Credentials } from "./core/credentials.ts";
import { type BrokerCallMetrics, BrokerGrpcServer } from "./server.ts";
import { SqliteStore, type Store } from "./store/index.ts";
import { GLOBALNET_OFF, GlobalnetSettingsSchema, ValidationError } from "@causeway/api";
import { BrokerStartError } from "./errors.ts";

export const BrokerConfigSchema = z.strictObject({
  /** Addresses to serve on: host:port and/or unix:///path. */
  listen: z.array(z.string().min(1)).min(1).default(["0.0.0.0:7400"]),
  /** Where records live: one SQLite file (default), or a NATS JetStream bucket shared by several broker replicas. */
  backend: z.enum(["sqlite", "nats"]).default("sqlite"),
  /** The SQLite database file (backend sqlite). */
  db: z.string().min(1).optional(),
  /** The NATS cluster (backend nats). */
  nats: z
    .strictObject({
      servers: z.array(z.string().regex(/^(nats|tls):\/\/[^\s,]+$/, "must be nats://host:port or tls://host:port")).min(1),
      bucket: z
        .string()
        .regex(/^[A-Za-z0-9_-]+$/, "letters, digits, - and _ only")
        .default("causeway"),
      /** Stream replicas: 3 in HA (a write is acknowledged once a majority holds it). */
      replicas: z.union([z.literal(1), z.literal(3), z.literal(5)]).default(1),
      user: z.string().min(1).optional(),
      passwordFile: z.string().min(1).optional(),
      /** CA bundle for tls:// servers. */
      caFile: z.string().min(1).optional(),
    })
    .optional(),
  /** Admin token file: read if it exists, otherwise a new token is written there (mode 0600). */
  adminTokenFile: z.string().min(1),
  /** Keep this many events of history for resuming watches. */
  historyEvents: z.number().int().positive().default(100_000),
  bookmarkIntervalMs: z.number().int().positive().default(10_000),
  /** TLS on every TCP address (PEM files); Unix sockets stay plain (the host's file permissions guard them). */
  tls: z.strictObject({ certFile: z.string().min(1), keyFile: z.string().min(1) }).optional(),
  /** /metrics, /healthz and /readyz on this TCP port (0: none). */
  metricsPort: z.number().int().min(0).max(65535).default(0),
  /** `--globalnet …`: members with overlapping CIDRs meet through global CIDRs the broker places. */
  globalnet: GlobalnetSettingsSchema.default(GLOBALNET_OFF),
});
export type BrokerConfig = z.input<typeof BrokerConfigSchema>;
type ParsedConfig = z.output<typeof BrokerConfigSchema>;

/** Opens the configured store; errors say which setting to fix. */
async function openStore(cfg: ParsedConfig): Promise<Store> {
  if (cfg.backend === "sqlite") {
    if (!cfg.db) throw new ValidationError("backend sqlite needs --db <file>");
    return new SqliteStore(cfg.db);
  }
  const n = cfg.nats;
  if (!n) throw new ValidationError("backend nats needs --nats-servers nats://host:port[,…]");
  const pass = n.passwordFile ? readFileSync(n.passwordFile, "utf8").trim() : undefined;
  // Loaded only for this backend (the default broker never pays for the NATS client).
  const { NatsStore } = await import("./store/nats.ts");
  try {
    return await NatsStore.open({
      servers: n.servers,
      bucket: n.bucket,
      replicas: n.replicas,
      ...(n.user ? { user: n.user } : {}),
      ...(pass ? { pass } : {}),
      ...(n.caFile ? { tls: { caFile: n.caFile } } : {}),
    });
  } catch (err) {
    throw new BrokerStartError(`cannot open NATS bucket ${n.bucket} at ${n.servers.join(", ")}: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  }
}

export interface RunningBroker {
  readonly addresses: string[];
  readonly core: BrokerCore;
  /** The broker's metrics (refusals, writes, store revision, records). */
  readonly registry: Registry;
  close(): Promise<void>;
}

/** Opens the store, registers the admin credential, and serves gRPC until close(). */
export async function startBroker(input: BrokerConfig, log: Logger): Promise<RunningBroker> {
  const cfg = BrokerConfigSchema.parse(input);
  const store = await openStore(cfg);
  const core = new BrokerCore(store, Date.now, cfg.globalnet);
  try {
    await core.checkMembers();
  } catch (err) {
    await store.close();
    throw err;
  }
  let token: string;
  if (existsSync(cfg.adminTokenFile)) {
    token = readFileSync(cfg.adminTokenFile, "utf8").trim();
  } else {
    token = Credentials.newAdminToken();
    mkdirSync(dirname(cfg.adminTokenFile), { recursive: true });
    writeFileSync(cfg.adminTokenFile, `${token}\n`, { mode: 0o600 });
    chmodSync(cfg.adminTokenFile, 0o600);
    log.info({ file: cfg.adminTokenFile }, "wrote a new admin token");
  }
  await core.credentials.setAdmin(token);
  const { registry, calls } = brokerMetrics(store);
  const server = new BrokerGrpcServer({
    core,
    log,
    bookmarkIntervalMs: cfg.bookmarkIntervalMs,
    metrics: calls,
    ...(cfg.tls ? { tls: { cert: readFileSync(cfg.tls.certFile), key: readFileSync(cfg.tls.keyFile) } } : {}),
  });
  const addresses = await server.listen(cfg.listen);
  const compactor = setInterval(() => void store.compact(cfg.historyEvents), 60_000);
  compactor.unref();
  let probes: ProbeServer | undefined;
  try {
    probes = cfg.metricsPort ? await ProbeServer.start({ port: cfg.metricsPort, registry, ready: () => undefined, log }) : undefined;
  } catch (err) {
    clearInterval(compactor);
    await server.close();
    await store.close();
    throw err;
  }
  log.info(
    {
      addresses,
      backend: cfg.backend,
      ...(cfg.globalnet.enabled ? { globalnet: cfg.globalnet } : {}),
      ...(cfg.db && cfg.backend === "sqlite" ? { db: cfg.db } : {}),
      ...(cfg.nats && cfg.backend === "nats" ? { nats: cfg.nats.servers, bucket: cfg.nats.bucket, replicas: cfg.nats.replicas } : {}),
      revision: await store.revision(),
      ...(probes ? { metricsPort: probes.port } : {}),
    },
    "broker serving",
  );
  return {
    addresses,
    core,
    registry,
    async close() {
      clearInterval(compactor);
      await probes?.close();
      await server.close();
      await store.close();
    },
  };
}

/** The broker's registry: process metrics, its store's revision and records per kind (read at scrape time), and its calls' counters. */
function brokerMetrics(store: Store): { registry: Registry; calls: BrokerCallMetrics } {
  const registry = newRegistry("causeway-broker");
  const refused = new Counter({
    name: "causeway_broker_refused_total",
    help: "Broker calls refused, by method and reason (unauthenticated-*, forbidden, invalid, too-large, conflict)",
    labelNames: ["method", "reason"],
    registers: [registry],
  });
  const writes = new Counter({ name: "causeway_broker_writes_total", help: "Broker writes done, by method", labelNames: ["method"], registers: [registry] });
  new Gauge({
    name: "causeway_broker_revision",
    help: "Revision of the broker store's last write",
    registers: [registry],
    async collect() {
      this.set(await store.revision());
    },
  });
  new Gauge({
    name: "causeway_broker_records",
    help: "Records stored, by kind",
    labelNames: ["kind"],
    registers: [registry],
    async collect() {
      const { records } = await store.list();
      this.reset();
      const counts = new Map<string, number>();
      for (const r of records) counts.set(r.kind, (counts.get(r.kind) ?? 0) + 1);
      for (const [kind, n] of counts) this.set({ kind }, n);
    },
  });
  return { registry, calls: { refused: (method, reason) => refused.inc({ method, reason }), wrote: (method) => writes.inc({ method }) } };
}
