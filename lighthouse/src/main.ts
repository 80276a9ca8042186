#!/usr/bin/env node
/**
 * causeway-lighthouse: the clusterset DNS server and the keeper of this cluster's exports.
 * Standalone: --site <file> --node <name> (services from the site file, readiness probed).
 * Kubernetes: --kube (ServiceExports → broker; ServiceImports and MCS EndpointSlices from it;
 * one agent writes at a time through a Lease, every one serves DNS).
 */
import { exportName, GatewayObjectSchema, type GatewayStatus, ValidationError } from "@causeway/api";
import { kube, type Logger, METRICS_PORTS, runKubeMain, runSiteMain, type SiteComponent, view } from "@causeway/common";
import { joinedBrokerConnection, siteBrokerConnection } from "@causeway/common/broker-client";
import { Counter, Gauge, type Registry } from "prom-client";
import { DnsServer } from "./dns/server.ts";
import { Resolver } from "./dns/resolver.ts";
import { ServiceExporter, siteServices } from "./imports/exporter.ts";
import { BrokerDnsSource } from "./imports/source.ts";
import { KubeLighthouseAgent } from "./kube/agent.ts";

const RCODES = ["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"];
const OPTIONS = {
  "dns-port": { type: "string" },
  "dns-address": { type: "string" },
  zones: { type: "string" },
  ttl: { type: "string" },
  "probe-interval": { type: "string" },
  answer: { type: "string" },
} as const;
const USAGE = "[--dns-port N] [--dns-address IP] [--zones clusterset.local,…] [--ttl S] [--probe-interval S] [--answer clusterset-ip|cluster-ip]";

/**
 * What `A <svc>.<ns>.svc.<zone>` answers for a ClusterSetIP import: its clusterset IP (MCS, the
 * default; the route agents translate it to the chosen cluster's endpoints), or the chosen
 * cluster's own Service IP (Submariner's answer, for users who want it).
 */
function clustersetIpAnswers(v: string | undefined): boolean {
  if (v === undefined || v === "clusterset-ip") return true;
  if (v === "cluster-ip") return false;
  throw new ValidationError(`--answer must be clusterset-ip (the import's clusterset IP) or cluster-ip (the chosen cluster's Service IP), got "${v}"`);
}

function intFlag(v: string | undefined, flag: string, dflt: number, min: number, max: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new ValidationError(`--${flag} must be a whole number ${min}..${max}, got "${v}"`);
  return n;
}

/** The DNS server over `source` with its metrics; SERVFAIL until the source has loaded. */
async function serveDns(flag: (n: string) => string | undefined, source: BrokerDnsSource, registry: Registry, log: Logger) {
  const port = intFlag(flag("dns-port"), "dns-port", 53, 0, 65535);
  const ttl = intFlag(flag("ttl"), "ttl", 5, 0, 3600);
  const zones = (flag("zones") ?? "clusterset.local")
    .split(",")
    .map((z) => z.trim())
    .filter(Boolean);
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
    resolver: new Resolver(source, { zones, ttl }),
    log,
    ready: () => source.isSynced,
    onAnswer: (rcode) => queries.inc({ rcode: RCODES[rcode] ?? String(rcode) }),
  });
  return { server, started: { dnsPort: server.port, zones, ttl } };
}

const removed = "removed this cluster's exports";

if (process.argv.includes("--kube")) {
  await runKubeMain({
    name: "causeway-lighthouse",
    metricsPort: METRICS_PORTS.lighthouse,
    brokerToken: true,
    options: OPTIONS,
    async build({ client, namespace, cluster, nodeName, log, resyncMs, uninstall, flag, registry }) {
      const conn = joinedBrokerConnection(cluster);
      // Which remote clusters are connected: the active gateway's status in this cluster's Gateway objects.
      const gateways = new view.KubeListView(client, kube.R.gateway, namespace, GatewayObjectSchema, log);
      let gatewayVersion = 0;
      const statuses = {
        list: (): GatewayStatus[] => gateways.objects().flatMap((g) => (g.status ? [g.status] : [])),
        version: () => gatewayVersion,
      };
      const source = new BrokerDnsSource(conn, cluster.clusterId, log, { statuses, clustersetIps: clustersetIpAnswers(flag("answer")) });
      const agent = new KubeLighthouseAgent({
        client,
        namespace,
        clusterId: cluster.clusterId,
        // A replica's own name (two replicas may share a node); the node's where no pod name is given.
        identity: process.env.POD_NAME || `${nodeName}-causeway-lighthouse`,
        conn,
        source,
        log,
        resyncMs,
      });
      if (uninstall) {
        const noop = async () => undefined;
        return { component: { start: () => undefined, stop: noop, uninstall: () => agent.uninstall() }, started: {}, removed };
      }
      const dns = await serveDns(flag, source, registry, log);
      const component: SiteComponent = {
        start() {
          gateways.start(() => gatewayVersion++);
          agent.start();
        },
        async stop() {
          await agent.stop();
          gateways.stop();
          await dns.server.close();
        },
        async uninstall() {
          await dns.server.close();
          await agent.uninstall();
        },
        ready: () => agent.ready(),
      };
      return { component, started: dns.started, removed };
    },
  });
} else {
  await runSiteMain({
    name: "causeway-lighthouse",
    usage: USAGE,
    metricsPort: METRICS_PORTS.lighthouse,
    options: OPTIONS,
    async build({ site, log, flag, registry, uninstall }) {
      const probeMs = intFlag(flag("probe-interval"), "probe-interval", 1, 1, 3600) * 1000;
      const conn = siteBrokerConnection(site.broker);
      const source = new BrokerDnsSource(conn, site.clusterId, log, { clustersetIps: clustersetIpAnswers(flag("answer")) });
      const removeExports = async () => {
        const { records } = await conn.list("export");
        for (const r of records.filter((x) => x.clusterId === site.clusterId)) await conn.delete("export", site.clusterId, r.name);
      };
      if (uninstall) {
        const noop = async () => undefined;
        return { component: { start: () => undefined, stop: noop, uninstall: removeExports }, started: {}, removed };
      }
      const dns = await serveDns(flag, source, registry, log);
      const exporter = new ServiceExporter({
        clusterId: site.clusterId,
        services: siteServices(flag("site") ?? "", site.services, log),
        exported: () => source.exportsOf(site.clusterId),
        clusterset: { all: () => source.exportRecords(), block: () => source.clustersetBlock(site.clusterId) },
        globalCidr: () => source.globalCidr(site.clusterId),
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
          await dns.server.close();
        },
        async uninstall() {
          await dns.server.close();
          await removeExports();
        },
        ready: () => (source.isSynced ? undefined : "broker records not loaded yet"),
      };
      return { component, started: { ...dns.started, services: site.services.map((s) => exportName(s.namespace, s.name)) }, removed };
    },
  });
}
