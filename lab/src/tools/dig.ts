#!/usr/bin/env node
/**
 * A lab DNS client: resolves --name (--type A, the default; AAAA, SRV, TXT or PTR — for PTR
 * --name is the address) at --server, or at the pod's own nameserver (its resolv.conf: the
 * cluster's CoreDNS) when none is given; prints the answers as JSON (A/AAAA/PTR: strings, SRV:
 * {name, port, priority, weight}, TXT: each record's strings joined), or the error code.
 */
import { Resolver } from "node:dns/promises";
import { parseArgs } from "node:util";

const { values } = parseArgs({ options: { server: { type: "string" }, name: { type: "string" }, type: { type: "string", default: "A" } } });
const QUERIES: Record<string, (r: Resolver, name: string) => Promise<unknown[]>> = {
  A: (r, n) => r.resolve4(n),
  AAAA: (r, n) => r.resolve6(n),
  SRV: async (r, n) => (await r.resolveSrv(n)).map(({ name, port, priority, weight }) => ({ name, port, priority, weight })),
  TXT: async (r, n) => (await r.resolveTxt(n)).map((chunks) => chunks.join("")),
  PTR: (r, n) => r.reverse(n),
};
const query = QUERIES[values.type.toUpperCase()];
if (!values.name || !query) {
  console.error(`usage: dig.ts --name NAME [--type ${Object.keys(QUERIES).join("|")}] [--server IP]`);
  process.exit(2);
}
const r = new Resolver({ timeout: 1000, tries: 2 });
if (values.server) r.setServers([values.server]);
try {
  console.log(JSON.stringify(await query(r, values.name)));
} catch (err) {
  console.log(JSON.stringify({ error: (err as NodeJS.ErrnoException).code ?? String(err) }));
}
