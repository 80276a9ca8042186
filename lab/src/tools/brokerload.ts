#!/usr/bin/env node
/**
 * The lab's broker write load: writes --count export records (unavailable exports in namespace
 * "load": imported nowhere) for --cluster with its credential, one every --interval ms, each
 * retried until the broker acknowledges it (a write is idempotent), through --address (several
 * replicas: host:port,host:port). Appends one JSON line per acknowledged write to --out
 * ({"name","revision","attempts"}), then prints a summary line.
 */
import { appendFileSync, readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { exportName, unavailableExport } from "@causeway/api";
import { BrokerConnection } from "@causeway/common/broker-client";
import { LabError } from "../errors.ts";

const { values } = parseArgs({
  options: {
    address: { type: "string" },
    "token-file": { type: "string" },
    cluster: { type: "string" },
    count: { type: "string", default: "100" },
    interval: { type: "string", default: "10" },
    out: { type: "string" },
    prefix: { type: "string", default: "load" },
    ca: { type: "string" },
  },
});
const count = Number(values.count);
const interval = Number(values.interval);
const cluster = values.cluster ?? "";
const out = values.out ?? "";
const conn = new BrokerConnection({
  address: values.address ?? "",
  token: readFileSync(values["token-file"] ?? "", "utf8").trim(),
  callTimeoutMs: 2000,
  ...(values.ca ? { ca: readFileSync(values.ca, "utf8") } : {}),
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let retried = 0;
const t0 = Date.now();
for (let i = 0; i < count; i++) {
  const name = `${values.prefix}-${i}`;
  const value = unavailableExport({ namespace: "load", name, type: "ClusterSetIP", exportedAt: new Date().toISOString() }, "a broker load record");
  for (let attempt = 1; ; attempt++) {
    try {
      const rec = await conn.put("export", cluster, exportName("load", name), value);
      appendFileSync(out, `${JSON.stringify({ name: exportName("load", name), revision: Number(rec?.revision ?? 0), attempts: attempt })}\n`);
      if (attempt > 1) retried++;
      break;
    } catch {
      if (Date.now() - t0 > 300_000) throw new LabError(`gave up on ${name} after ${attempt} attempts`);
      await sleep(100);
    }
  }
  await sleep(interval);
}
console.log(JSON.stringify({ written: count, retried, ms: Date.now() - t0 }));
conn.close();
