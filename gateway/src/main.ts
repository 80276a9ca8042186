#!/usr/bin/env node
/**
 * causeway-gateway: flags → mode → cable driver registry → engine.
 * Standalone: --site <file> --node <name>. Kubernetes: --kube (a DaemonSet pod; see runKubeMain).
 */
import { CAUSEWAY_VERSION, GATEWAY_DEFAULTS, GATEWAY_SETTINGS, type GatewaySettings, gatewaySettingsFromFlags, ValidationError } from "@causeway/api";
import {
  checkLeaseTimings,
  cniIpOf,
  host,
  kube,
  type Logger,
  METRICS_PORTS,
  ProcessRunner,
  readToken,
  runKubeMain,
  runSiteMain,
  STANDALONE_LEASE,
  view,
} from "@causeway/common";
import { joinedBrokerConnection, siteBrokerConnection } from "@causeway/common/broker-client";
import { type CableDriver, CableDrivers } from "./cable/driver.ts";
import { VxlanCableDriver } from "./cable/vxlan.ts";
import { WireGuardCableDriver } from "./cable/wireguard.ts";
import { healthCheckOf, type HealthCheckSettings } from "./health/checker.ts";
import { KubeGateway } from "./kube.ts";
import { KubeActiveGateway } from "./kubeactive.ts";
import { GatewayMetrics } from "./metrics.ts";
import { BrokerGlobalnetSource, GlobalnetMetrics } from "./globalnet.ts";
import type { Registry } from "prom-client";
import { NAT_DISCOVERY_PORT } from "./nat/protocol.ts";
import { parseResolvers, resolvePublicIp } from "./publicip.ts";
import { SiteActiveGateway } from "./activeactive.ts";
import { SiteGateway } from "./standalone.ts";
import { sourceTowards } from "./privateip.ts";
import { runKeeper } from "./keeper.ts";

const VERSION = CAUSEWAY_VERSION;

function natPort(flag: string | undefined): number {
  const port = flag === undefined ? NAT_DISCOVERY_PORT : Number(flag);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ValidationError(`--nat-discovery-port must be 0 (off) or a UDP port, got "${flag}"`);
  return port;
}

/** The gateway settings' flags, as the cluster-configuration contract names them (subctl's names); health-check takes true|false. */
const SETTING_OPTIONS = Object.fromEntries(
  Object.entries(GATEWAY_SETTINGS).map(([key, s]) => [s.flag, { type: s.type === "boolean" && key !== "healthCheck" ? "boolean" : "string" }]),
) as Record<string, { type: "boolean" | "string" }>;

/** Flags both modes share (beyond the mode's own). */
const SHARED_OPTIONS = {
  "private-ip": { type: "string" },
  "public-ip": { type: "string" },
  "nat-discovery-port": { type: "string" },
  "wireguard-interface": { type: "string" },
  ...SETTING_OPTIONS,
} as const;

/**
 * The gateway's settings: the contract's defaults, then what the cluster's configuration says
 * (Kubernetes mode: what join was given), then the gateway's own flags — flags win. Values are
 * typed all the way; a bad flag throws ValidationError naming it.
 */
function settingsFrom(configured: Partial<GatewaySettings>, value: (flag: string) => string | boolean | undefined): GatewaySettings {
  const given = Object.fromEntries(
    Object.keys(GATEWAY_SETTINGS).flatMap((k) => (configured[k as keyof GatewaySettings] === undefined ? [] : [[k, configured[k as keyof GatewaySettings]]])),
  );
  return { ...GATEWAY_DEFAULTS, ...given, ...gatewaySettingsFromFlags(value) };
}

/** The health checker's settings, undefined when health checks are off. */
const healthCheckFrom = (s: GatewaySettings): HealthCheckSettings | undefined => (s.healthCheck ? healthCheckOf(s) : undefined);

/** Gateway election timings, in seconds (fractions allowed). */
const ELECTION_OPTIONS = {
  "lease-duration": { type: "string" },
  "renew-deadline": { type: "string" },
  "retry-period": { type: "string" },
} as const;

interface Prepared {
  readonly driver: CableDriver;
  readonly privateIp: string;
  readonly mtu: number;
  /** The interface carrying the private IP (undefined only when uninstalling). */
  readonly underlayDev: string | undefined;
  readonly publicIp: string | (() => Promise<string>);
  readonly natDiscovery: { port: number; sourceFor: (dst: string) => Promise<string | undefined> };
  readonly natEnabled: boolean;
  readonly cablePort: number;
  readonly preferredServer: boolean;
}

/** Checks the host can carry the driver's cables; a restart takes over what the previous process left (WireGuard: the device and its key), so established cables stay up. */
async function readyDriver(driver: CableDriver): Promise<void> {
  driver.preflight?.();
  await driver.adopt?.();
}

/**
 * The host's adapters, the driver (checked before anything touches the host; then other drivers'
 * devices removed, so a changed cable driver starts clean), the underlay of the private IP,
 * and how to find the public IP.
 */
async function prepare(o: {
  driverName: string;
  brokerAddress: string;
  fallbackIp: string;
  uninstall: boolean;
  cableSecret: string;
  /** Resolver list from the node (site file or Node annotation), used when --public-ip is not given. */
  nodePublicIp?: string | undefined;
  settings: GatewaySettings;
  flag: (name: string) => string | undefined;
  log: Logger;
}): Promise<Prepared> {
  const runner = new ProcessRunner();
  const adapters = host.realHostAdapters(runner);
  // Before anything touches the host: the node's iptables backend (none: a clear error, exit 2).
  await adapters.filter.preflight?.();
  const wgInterface = o.flag("wireguard-interface") ?? process.env.CAUSEWAY_WG_INTERFACE;
  const drivers = new CableDrivers({
    vxlan: () => new VxlanCableDriver(adapters),
    wireguard: () =>
      new WireGuardCableDriver({
        ...{ adapters, wg: new host.WgTools(runner), iface: wgInterface, secret: o.cableSecret || undefined },
        // Kept across container restarts (the DaemonSet's emptyDir) — not by a preferred server, which dials
        // nobody: its clients would keep their old sessions, so a new key makes them handshake anew.
        keyFile: o.settings.preferredServer ? undefined : process.env.CAUSEWAY_WG_KEY_FILE || undefined,
      }),
  });
  const driver = drivers.create(o.driverName);
  if (!o.uninstall) await readyDriver(driver);
  const resolvers = parseResolvers(o.flag("public-ip") ?? o.nodePublicIp ?? "");
  const airGapped = o.settings.airGapped;
  const port = natPort(o.flag("nat-discovery-port"));
  const privateIp = o.flag("private-ip") ?? (await sourceTowards(adapters.net, o.brokerAddress, { log: o.log, once: o.uninstall })) ?? o.fallbackIp;
  const underlay = await adapters.net.interfaceOf(privateIp);
  if (!underlay && !o.uninstall) throw new ValidationError(`private IP ${privateIp} is on no interface of this host; check --private-ip and --node`);
  // Checks done: another driver's device (a changed --cable-driver) goes; what all drivers share is rewritten by this one.
  for (const other of drivers.others(driver.name)) await other.removeDevice();
  return {
    driver,
    privateIp,
    mtu: underlay?.mtu ?? 1500,
    underlayDev: underlay?.dev,
    publicIp: resolvers.length ? () => resolvePublicIp(resolvers, { airGapped }) : "",
    natDiscovery: { port, sourceFor: async (dst) => (await adapters.net.mtuTowards(dst)).src },
    natEnabled: o.settings.natt,
    cablePort: o.settings.nattPort,
    preferredServer: o.settings.preferredServer,
  };
}

/** A flag in seconds (fractions allowed) as milliseconds; `dflt` is in seconds. */
const seconds = (v: string | undefined, flag: string, dflt: number): number => {
  if (v === undefined) return dflt * 1000;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new ValidationError(`--${flag} must be a positive number of seconds, got "${v}"`);
  return n * 1000;
};

/**
 * Election timings from --lease-duration/--renew-deadline/--retry-period, in both modes by
 * default 1 s / 0.75 s / 0.2 s: a crashed gateway is replaced within ~1.2 s (Submariner's 15 s
 * Lease made failover take 15 s and more). In Kubernetes mode that is ~5 Lease writes a second
 * per cluster; raise them on a busy shared API server.
 */
function electionFrom(flag: (name: string) => string | undefined) {
  const election = {
    leaseDurationMs: seconds(flag("lease-duration"), "lease-duration", STANDALONE_LEASE.leaseDurationMs / 1000),
    renewDeadlineMs: seconds(flag("renew-deadline"), "renew-deadline", STANDALONE_LEASE.renewDeadlineMs / 1000),
    retryPeriodMs: seconds(flag("retry-period"), "retry-period", STANDALONE_LEASE.retryPeriodMs / 1000),
  };
  checkLeaseTimings(election);
  return election;
}

/** What both modes give the gateway from the prepared host and the flags, and say of it at start. */
function sharedParts(p: Prepared, election: ReturnType<typeof electionFrom>, healthCheck: HealthCheckSettings | undefined, registry: Registry) {
  return {
    deps: {
      privateIp: p.privateIp,
      publicIp: p.publicIp,
      natEnabled: p.natEnabled,
      cablePort: p.cablePort,
      preferredServer: p.preferredServer,
      natDiscovery: p.natDiscovery,
      underlayMtu: p.mtu,
      underlayDev: p.underlayDev,
      driver: p.driver,
      version: VERSION,
      election,
      healthCheck,
      metrics: new GatewayMetrics(registry),
      flows: new host.ConntrackFlows(new ProcessRunner()),
    },
    started: {
      driver: p.driver.name,
      privateIp: p.privateIp,
      cablePort: p.cablePort,
      preferredServer: p.preferredServer,
      mtu: p.mtu,
      ...election,
      healthCheck: healthCheck ?? "off",
    },
  };
}

const keeperAt = process.argv.indexOf("--wireguard-keeper");
if (keeperAt >= 0) {
  await runKeeper(process.argv[keeperAt + 1]);
} else if (process.argv.includes("--kube")) {
  await runKubeMain({
    brokerToken: true,
    name: "causeway-gateway",
    metricsPort: METRICS_PORTS.gateway,
    options: { ...SHARED_OPTIONS, ...ELECTION_OPTIONS },
    async build({ client, namespace, cluster, nodeName, log, resyncMs, uninstall, flag, value, registry }) {
      // What join was told (causeway-config) applies unless the gateway's own flags say otherwise.
      const settings = settingsFrom(cluster, value);
      const healthCheck = healthCheckFrom(settings);
      const nodeObject = await client.get<kube.KubeObject>(kube.R.node, undefined, nodeName);
      const node = view.nodeFromObject(nodeObject);
      if (typeof node === "string") throw new ValidationError(`cannot run the gateway on this node: ${node}`);
      const election = electionFrom(flag);
      const p = await prepare({
        driverName: cluster.cableDriver,
        brokerAddress: cluster.brokerAddress,
        fallbackIp: node.ip,
        log,
        uninstall,
        cableSecret: cluster.cableSecret,
        nodePublicIp: nodeObject.metadata.annotations?.[view.PUBLIC_IP_ANNOTATION],
        settings,
        flag,
      });
      const conn = joinedBrokerConnection(cluster);
      const shared = sharedParts(p, election, healthCheck, registry);
      const Candidate = cluster.gatewayMode === "active-active" ? KubeActiveGateway : KubeGateway;
      const component = new Candidate({
        ...shared.deps,
        client,
        namespace,
        cluster,
        nodeName,
        healthCheckIp: cniIpOf(node),
        conn,
        globalnet: { nat: new host.NftGlobalNat(new ProcessRunner()), metrics: new GlobalnetMetrics(registry) },
        log,
        resyncMs,
      });
      return {
        component,
        started: shared.started,
        removed: "removed cables, endpoint and gateway status",
      };
    },
  });
} else {
  await runSiteMain({
    name: "causeway-gateway",
    usage:
      "[--private-ip IP] [--public-ip RESOLVERS] [--air-gapped] [--natt] [--nattport N] [--preferred-server] [--nat-discovery-port N] [--wireguard-interface NAME] [--lease-duration S] [--renew-deadline S] [--retry-period S] [--health-check true|false] [--health-check-interval S] [--health-check-max-packet-loss-count N] [--metrics-port N]",
    metricsPort: METRICS_PORTS.gateway,
    options: { ...SHARED_OPTIONS, ...ELECTION_OPTIONS },
    async build({ site, node, log, resyncMs, uninstall, flag, value, registry }) {
      const settings = settingsFrom({}, value);
      const healthCheck = healthCheckFrom(settings);
      const election = electionFrom(flag);
      if (!node.gateway) throw new ValidationError(`node ${node.name} is not a gateway node in the site file (set gateway: true)`);
      const p = await prepare({
        driverName: site.cableDriver,
        brokerAddress: site.broker.address,
        fallbackIp: node.ip,
        log,
        uninstall,
        cableSecret: site.broker.cableSecretFile ? readToken(site.broker.cableSecretFile, "cable secret") : "",
        nodePublicIp: node.publicIp,
        settings,
        flag,
      });
      const conn = siteBrokerConnection(site.broker);
      const shared = sharedParts(p, election, healthCheck, registry);
      // Clusters and exports too: under globalnet the gateway translates its cluster's exports.
      const brokerView = new view.BrokerEndpointView(conn, log, ["endpoint", "cluster", "export"]);
      // active-active: every gateway node active, each holding a slot (activeactive.ts); else one elected.
      const Candidate = site.gatewayMode === "active-active" ? SiteActiveGateway : SiteGateway;
      const component = new Candidate({
        ...shared.deps,
        leases: conn,
        broker: conn,
        candidates: site.nodes.filter((n) => n.gateway).length,
        site,
        nodeName: node.name,
        healthCheckIp: cniIpOf(node),
        view: brokerView,
        globalnet: {
          source: new BrokerGlobalnetSource(brokerView, site.clusterId),
          nat: new host.NftGlobalNat(new ProcessRunner()),
          metrics: new GlobalnetMetrics(registry),
        },
        sink: new view.BrokerGatewaySink(conn, site.clusterId),
        log,
        resyncMs,
      });
      return {
        component,
        started: shared.started,
        removed: "removed cables, endpoint and status",
      };
    },
  });
}
