#!/usr/bin/env node
/** causeway-broker: flags → config → startBroker. The only place that reads argv/env. */
import { parseArgs } from "node:util";
import { createLogger } from "@causeway/common";
import { formatIssues } from "@causeway/api";
import { BrokerConfigSchema, startBroker } from "./run.ts";

const { values } = parseArgs({
  options: {
    listen: { type: "string", multiple: true },
    db: { type: "string", default: process.env.CAUSEWAY_BROKER_DB ?? "/var/lib/causeway/broker.db" },
    "admin-token-file": { type: "string", default: process.env.CAUSEWAY_ADMIN_TOKEN_FILE ?? "/var/lib/causeway/admin-token" },
  },
});
const log = createLogger("causeway-broker");
const parsed = BrokerConfigSchema.safeParse({
  listen: values.listen ?? [process.env.CAUSEWAY_BROKER_LISTEN ?? "0.0.0.0:7400"],
  db: values.db,
  adminTokenFile: values["admin-token-file"],
});
if (!parsed.success) {
  log.fatal({ issues: formatIssues(parsed.error) }, "invalid broker configuration");
  process.exit(2);
}
const broker = await startBroker(parsed.data, log);
for (const sig of ["SIGTERM", "SIGINT"] as const) {
  process.once(sig, () => {
    log.info({ signal: sig }, "shutting down");
    void broker.close().then(() => process.exit(0));
  });
}
