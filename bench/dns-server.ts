#!/usr/bin/env node
/**
 * bench:dns's Causeway side: the lighthouse's DNS server (the same DnsServer and Resolver the
 * lighthouse runs) on --address:--port over a fixed clusterset of --services services, the
 * data bench/dns.ts gives CoreDNS as a zone file. Runs until SIGTERM.
 */
import { parseArgs } from "node:util";
import { silentLogger } from "@causeway/common";
import { DnsServer, Resolver, StaticDnsSource } from "@causeway/lighthouse";
import { benchServices } from "./dns-data.ts";

const { values } = parseArgs({
  options: { address: { type: "string", default: "127.0.0.1" }, port: { type: "string", default: "5300" }, services: { type: "string", default: "1000" } },
});
const source = new StaticDnsSource("c1", benchServices(Number(values.services)));
const server = await DnsServer.start({ port: Number(values.port), host: values.address, resolver: new Resolver(source), log: silentLogger() });
console.log(`listening on ${values.address}:${server.port}`);
process.on("SIGTERM", () => void server.close().then(() => process.exit(0)));
