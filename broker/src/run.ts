import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { type Logger, newRegistry, ProbeServer } from "@causeway/common";
import { Gauge } from "prom-client";
import { z } from "zod";
import { BrokerCore } from "./core/core.ts";
import { Credentials } from "./core/credentials.ts";
import { BrokerGrpcServer } from "./server.ts";
import { SqliteStore } from "./store/index.ts";

export const BrokerConfigSchema = z.strictObject({
  /** Addresses to serve on: host:port and/or unix:///path. */
  listen: z.array(z.string().min(1)).min(1).default(["0.0.0.0:7400"]),
  /** The SQLite database file. */
  db: z.string().min(1),
  /** Admin token file: read if it exists, otherwise a new token is written there (mode 0600). */
  adminTokenFile: z.string().min(1),
  /** Keep this many events of history for resuming watches. */
  historyEvents: z.number().int().positive().default(100_000),
  bookmarkIntervalMs: z.number().int().positive().default(10_000),
  /** /metrics, /healthz and /readyz on this TCP port (0: none). */
  metricsPort: z.number().int().min(0).max(65535).default(0),
});
export type BrokerConfig = z.input<typeof BrokerConfigSchema>;

export interface RunningBroker {
  readonly addresses: string[];
  readonly core: BrokerCore;
  close(): Promise<void>;
}

/** Opens the store, registers the admin credential, and serves gRPC until close(). */
export async function startBroker(input: BrokerConfig, log: Logger): Promise<RunningBroker> {
  const cfg = BrokerConfigSchema.parse(input);
  const store = new SqliteStore(cfg.db);
  const core = new BrokerCore(store);
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
  const server = new BrokerGrpcServer({ core, log, bookmarkIntervalMs: cfg.bookmarkIntervalMs });
  const addresses = await server.listen(cfg.listen);
  const compactor = setInterval(() => void store.compact(cfg.historyEvents), 60_000);
  compactor.unref();
  let probes: ProbeServer | undefined;
  try {
    probes = cfg.metricsPort ? await ProbeServer.start({ port: cfg.metricsPort, registry: brokerMetrics(store), ready: () => undefined, log }) : undefined;
  } catch (err) {
    clearInterval(compactor);
    await server.close();
    await store.close();
    throw err;
  }
  log.info({ addresses, db: cfg.db, revision: await store.revision(), ...(probes ? { metricsPort: probes.port } : {}) }, "broker serving");
  return {
    addresses,
    core,
    async close() {
      clearInterval(compactor);
      await probes?.close();
      await server.close();
      await store.close();
    },
  };
}

/** The broker's registry: process metrics, its store's revision and records per kind (read at scrape time). */
function brokerMetrics(store: SqliteStore) {
  const registry = newRegistry("causeway-broker");
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
  return registry;
}
