#!/usr/bin/env node
/**
 * causeway-lighthouse: the clusterset DNS server and, in standalone mode, the keeper of this
 * cluster's exports (endpoint readiness). Standalone: --site <file> --node <name>.
 */
import { exportName } from "@causeway/api";
import { BrokerConnection, METRICS_PORTS, readToken, runSiteMain, type SiteComponent } from "@causeway/common";
import { Counter, Gauge } from "prom-client";
import { DnsServer } from "./dns/server.ts";
import { Resolver } from "./dns/resolver.ts";
import { ServiceExporter, siteServices } from "./imports/exporter.ts";
import { BrokerDnsSource } from "./imports/source.ts";

const RCODES = ["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"];

function intFlag(v: string | undefined, flag: string, dflt: number, min: number, max: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${flag} must be a whole number ${min}..${max}, got "${v}"`);
  return n;
}

await runSiteMain({
  name: "causeway-lighthouse",
  usage: "[--dns-port N] [--dns-address IP] [--zones clusterset.local,…] [--ttl S] [--probe-interval S]",
  metricsPort: METRICS_PORTS.lighthouse,
  options: {
    "dns-port": { type: "string" },
    "dns-address": { type: "string" },
    zones: { type: "string" },
    ttl: { type: "string" },
    "probe-interval": { type: "string" },
  },
  async build({ site, log, flag, registry, uninstall }) {
    const port = intFlag(flag("dns-port"), "dns-port", 53, 0, 65535);
    const ttl = intFlag(flag("ttl"), "ttl", 5, 0, 3600);
    const probeMs = intFlag(flag("probe-interval"), "probe-interval", 1, 1, 3600) * 1000;
    const zones = (flag("zones") ?? "clusterset.local")
      .split(",")
      .map((z) => z.trim())
      .filter(Boolean);
    const conn = new BrokerConnection({ address: site.broker.address, token: readToken(site.broker.tokenFile) });
    const source = new BrokerDnsSource(conn, site.clusterId, log);
    const resolver = new Resolver(source, { zones, ttl });
    const removeExports = async () => {
      const { records } = await conn.list("export");
      for (const r of records.filter((x) => x.clusterId === site.clusterId)) await conn.delete("export", site.clusterId, r.name);
    };
    if (uninstall) {
      const noop = async () => undefined;
      return { component: { start: () => undefined, stop: noop, uninstall: removeExports }, started: {}, removed: "removed this cluster's exports" };
    }
    let synced = false;
    void source.synced.then(() => (synced = true));
    const queries = new Counter({ name: "causeway_dns_queries_total", help: "DNS responses by rcode", labelNames: ["rcode"], registers: [registry] });
    new Gauge({
      name: "causeway_service_imports",
      help: "Services imported into this cluster",
      registers: [registry],
      collect() {
        this.set([...source.services()].length);
      },
    });
    const server = await DnsServer.start({
      port,
      host: flag("dns-address") ?? "0.0.0.0",
      resolver,
      log,
      ready: () => synced,
      onAnswer: (rcode) => queries.inc({ rcode: RCODES[rcode] ?? String(rcode) }),
    });
    const exporter = new ServiceExporter({
      clusterId: site.clusterId,
      services: siteServices(flag("site") ?? "", site.services, log),
      exported: () => source.exportsOf(site.clusterId),
      put: (name, value) => conn.put("export", site.clusterId, name, value),
      log,
      intervalMs: probeMs,
    });
    const component: SiteComponent = {
      start() {
        source.start();
        void source.synced.then(() => exporter.start());
      },
      async stop() {
        exporter.stop();
        source.stop();
        await server.close();
      },
      async uninstall() {
        await server.close();
        await removeExports();
      },
      ready: () => (synced ? undefined : "broker records not loaded yet"),
    };
    return {
      component,
      started: { dnsPort: server.port, zones, ttl, services: site.services.map((s) => exportName(s.namespace, s.name)) },
      removed: "removed this cluster's exports",
    };
  },
});
