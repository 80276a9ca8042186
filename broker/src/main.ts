#!/usr/bin/env node
/** causeway-broker: flags → config → startBroker. The only place that reads argv/env. */
import { createLogger, METRICS_PORTS, metricsPortFromFlag, parseFlags } from "@causeway/common";
import { formatIssues, type GlobalnetSettings, globalnetSettings } from "@causeway/api";
import { BrokerConfigSchema, startBroker } from "./run.ts";

const log = createLogger("causeway-broker");
const FLAGS = {
  listen: { type: "string", multiple: true },
  db: { type: "string", default: process.env.CAUSEWAY_BROKER_DB ?? "/var/lib/causeway/broker.db" },
  backend: { type: "string", default: process.env.CAUSEWAY_BROKER_BACKEND ?? "sqlite" },
  "nats-servers": { type: "string", default: process.env.CAUSEWAY_NATS_SERVERS },
  "nats-bucket": { type: "string" },
  "nats-replicas": { type: "string" },
  "nats-user": { type: "string", default: process.env.CAUSEWAY_NATS_USER },
  "nats-password-file": { type: "string", default: process.env.CAUSEWAY_NATS_PASSWORD_FILE },
  "nats-ca": { type: "string" },
  "tls-cert": { type: "string", default: process.env.CAUSEWAY_BROKER_TLS_CERT },
  "tls-key": { type: "string", default: process.env.CAUSEWAY_BROKER_TLS_KEY },
  "admin-token-file": { type: "string", default: process.env.CAUSEWAY_ADMIN_TOKEN_FILE ?? "/var/lib/causeway/admin-token" },
  "metrics-port": { type: "string" },
  globalnet: { type: "boolean", default: false },
  "globalnet-cidr-range": { type: "string" },
  "default-globalnet-cluster-size": { type: "string" },
} as const;
let values: ReturnType<typeof parseFlags<typeof FLAGS>>["values"];
try {
  ({ values } = parseFlags(FLAGS));
} catch (err) {
  // An unknown or malformed flag: named (with the closest known one), exit 2.
  log.fatal({ err: String(err) }, "causeway-broker cannot start");
  process.exit(2);
}
let metricsPort: number;
let globalnet: GlobalnetSettings;
try {
  metricsPort = metricsPortFromFlag(values["metrics-port"], METRICS_PORTS.broker);
  const size = values["default-globalnet-cluster-size"];
  globalnet = globalnetSettings({
    enabled: values.globalnet,
    ...(values["globalnet-cidr-range"] ? { cidrRange: values["globalnet-cidr-range"] } : {}),
    ...(size !== undefined ? { clusterSize: Number(size) } : {}),
  });
} catch (err) {
  log.fatal({ err: String(err) }, "invalid broker configuration");
  process.exit(2);
}
const parsed = BrokerConfigSchema.safeParse({
  listen: values.listen ?? [process.env.CAUSEWAY_BROKER_LISTEN ?? "0.0.0.0:7400"],
  db: values.db,
  backend: values.backend,
  ...(values["tls-cert"] || values["tls-key"] ? { tls: { certFile: values["tls-cert"] ?? "", keyFile: values["tls-key"] ?? "" } } : {}),
  ...(values["nats-servers"]
    ? {
        nats: {
          servers: values["nats-servers"].split(",").map((s) => s.trim()),
          ...(values["nats-bucket"] ? { bucket: values["nats-bucket"] } : {}),
          ...(values["nats-replicas"] ? { replicas: Number(values["nats-replicas"]) } : {}),
          ...(values["nats-user"] ? { user: values["nats-user"] } : {}),
          ...(values["nats-password-file"] ? { passwordFile: values["nats-password-file"] } : {}),
          ...(values["nats-ca"] ? { caFile: values["nats-ca"] } : {}),
        },
      }
    : {}),
  adminTokenFile: values["admin-token-file"],
  metricsPort,
  globalnet,
});
if (!parsed.success) {
  log.fatal({ issues: formatIssues(parsed.error) }, "invalid broker configuration");
  process.exit(2);
}
let broker: Awaited<ReturnType<typeof startBroker>>;
try {
  broker = await startBroker(parsed.data, log);
} catch (err) {
  log.fatal({ err: err instanceof Error ? err.message : String(err) }, "causeway-broker cannot start");
  process.exit(2);
}
for (const sig of ["SIGTERM", "SIGINT"] as const) {
  process.once(sig, () => {
    log.info({ signal: sig }, "shutting down");
    void broker.close().then(() => process.exit(0));
  });
}
