#!/usr/bin/env node
/**
 * A lab DNS client: resolves --name (A) at --server, or at the pod's own nameserver (its
 * resolv.conf: the cluster's CoreDNS) when none is given; prints the addresses as JSON, or the error code.
 */
import { Resolver } from "node:dns/promises";
import { parseArgs } from "node:util";

const { values } = parseArgs({ options: { server: { type: "string" }, name: { type: "string" } } });
if (!values.name) {
  console.error("usage: dig.ts --name NAME [--server IP]");
  process.exit(2);
}
const r = new Resolver({ timeout: 1000, tries: 2 });
if (values.server) r.setServers([values.server]);
try {
  console.log(JSON.stringify(await r.resolve4(values.name)));
} catch (err) {
  console.log(JSON.stringify({ error: (err as NodeJS.ErrnoException).code ?? String(err) }));
}
