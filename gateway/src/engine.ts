import {
  cableName,
  cidrsOverlap,
  type Connection,
  type Endpoint,
  errorMessage,
  GATEWAY_MODE_KEY,
  GATEWAY_SLOT_KEY,
  GATEWAY_EGRESS_KEY,
  type GatewayStatus,
  type GatewayTraffic,
  globalAddresses,
  remoteGateways,
  remoteKey,
  type ServiceExport,
} from "@causeway/api";
import { host, type Logger, type ReconcileLoop, sameValue, type view, ViewDrivenLoop } from "@causeway/common";
import { type CableDriver, type CableState, DEFAULT_CABLE_PORT, type RemoteCable, type Traffic } from "./cable/driver.ts";
import { HealthChecker, type HealthCheckSettings, mergeHealth } from "./health/checker.ts";
import type { PingerFactory } from "./health/pinger.ts";
import type { ConnectionSample, GatewayMetrics } from "./metrics.ts";
import { fallbackDecision, type NatDecision, NatDiscovery, type NatDiscoveryOptions } from "./nat/discovery.ts";
import { NAT_DISCOVERY_PORT } from "./nat/protocol.ts";
import { CableDriverError, TranslationError } from "./errors.ts";
import { DrainingRemotes } from "./drain.ts";
import { type GlobalnetDeps, type GlobalnetHost, globalNatSpec } from "./globalnet.ts";

/** What the engine knows of its own cluster (a site file, or the cluster's join configuration). */
export interface LocalCluster {
  readonly clusterId: string;
  readonly clusterCIDRs: readonly string[];
  readonly serviceCIDRs: readonly string[];
}

export interface GatewayDeps {
  readonly site: LocalCluster;
  /** The node this gateway runs on (its hostname in the Endpoint). */
  readonly nodeName: string;
  /** Address remote gateways reach this one at (the Endpoint's private_ip). */
  readonly privateIp: string;
  /** The public IP, or how to find it (re-checked every minute); none: "". */
  readonly publicIp?: string | (() => Promise<string>);
  /** Declared NAT (--natt): peers use the public IP when NAT discovery cannot decide. */
  readonly natEnabled?: boolean;
  /** The UDP port of this gateway's cables (--nattport; default 4500), published as backend_config udp-port. */
  readonly cablePort?: number;
  /** --preferred-server: remote gateways dial this one; it does not dial them (WireGuard; VXLAN cables have no initiator). */
  readonly preferredServer?: boolean;
  /** NAT discovery on UDP 4490 (port 0 turns it off: configuration decides). */
  readonly natDiscovery?: Omit<NatDiscoveryOptions, "log">;
  /** The node's address in the pod network (routes' source, health-check target). */
  readonly healthCheckIp: string;
  readonly underlayMtu: number;
  /** Endpoints of the clusterset: the broker (standalone) or local Endpoint objects (Kubernetes). */
  readonly view: view.EndpointView;
  /** Where this gateway's Endpoint and status go. */
  readonly sink: view.GatewaySink;
  readonly driver: CableDriver;
  readonly log: Logger;
  readonly version: string;
  readonly resyncMs?: number;
  /** How often RTT statistics and traffic reach the status (default STATUS_REFRESH_MS). */
  readonly statusRefreshMs?: number;
  /** Probes of remote endpoints' health-check IPs; absent: a connection's status is its cable driver's alone. */
  readonly healthCheck?: HealthCheckSettings & { readonly pinger?: PingerFactory };
  readonly metrics?: GatewayMetrics;
  /** Counts the flows to and from the remote clusters for the metrics and status (conntrack); absent: not counted. */
  readonly flows?: host.FlowCounter;
  /** Globalnet: the cluster's global CIDR and exports, and the translation table the active gateway keeps. */
  readonly globalnet?: GlobalnetDeps;
  /**
   * Active-active mode: this gateway's slot among its cluster's active gateways (held by a lease of
   * its own, `activeactive.ts`). Its Endpoint declares the mode and slot, and the other gateways'
   * Endpoints are theirs to keep: none is removed as stale. Absent: active-passive.
   */
  readonly gatewaySlot?: number;
  /** How long a withdrawn active-active remote gateway keeps its cable receive-only (default DRAIN_MS). */
  readonly drainMs?: number;
  /** The remote gateways draining, kept by an active-active gateway across its engines (one paused, then a new one); default: the engine's own. */
  readonly drain?: DrainingRemotes;
}

/**
 * Pure: this gateway's Endpoint. Under globalnet (`globalCidr`) the cluster is known only by its
 * global CIDR, and remote gateways probe its health-check address there.
 */
export function localEndpoint(
  d: Pick<GatewayDeps, "site" | "nodeName" | "privateIp" | "healthCheckIp" | "driver" | "natEnabled" | "cablePort" | "preferredServer" | "gatewaySlot">,
  publicIp = "",
  natPort = NAT_DISCOVERY_PORT,
  globalCidr?: string,
): Endpoint {
  const global = globalCidr ? globalAddresses(globalCidr) : undefined;
  return {
    cluster_id: d.site.clusterId,
    cable_name: cableName(d.site.clusterId, d.privateIp),
    healthCheckIP: global ? global.healthCheckIP : d.healthCheckIp,
    hostname: d.nodeName,
    subnets: globalCidr ? [globalCidr] : [...d.site.serviceCIDRs, ...d.site.clusterCIDRs],
    private_ip: d.privateIp,
    public_ip: publicIp,
    nat_enabled: d.natEnabled ?? false,
    backend: d.driver.name,
    backend_config: {
      "udp-port": String(d.cablePort ?? DEFAULT_CABLE_PORT),
      "natt-discovery-port": String(natPort),
      ...(d.preferredServer ? { "preferred-server": "true" } : {}),
      ...(d.gatewaySlot !== undefined ? { [GATEWAY_MODE_KEY]: "active-active", [GATEWAY_SLOT_KEY]: String(d.gatewaySlot) } : {}),
      ...(d.gatewaySlot !== undefined && global?.egressIPs[d.gatewaySlot - 1] ? { [GATEWAY_EGRESS_KEY]: global.egressIPs[d.gatewaySlot - 1] } : {}),
      ...d.driver.backendConfig?.(),
    },
  };
}

/** A remote that gets no cable, and why. */
export interface Skipped {
  readonly clusterId: string;
  readonly endpoint: Endpoint;
  readonly reason: string;
}

/**
 * Pure: which remote gateways get a cable, and why the others do not. `remotes`: every remote
 * cluster's active gateways (api remoteGateways: one per cluster in active-passive mode, each of
 * them in active-active mode); this gateway's own cluster is passed over.
 */
export function selectRemotes(
  local: Endpoint,
  remotes: readonly Endpoint[],
  decide: (remote: Endpoint) => NatDecision | undefined = fallbackDecision,
): { cables: RemoteCable[]; skipped: Skipped[]; pending: Endpoint[] } {
  const cables: RemoteCable[] = [];
  const skipped: Skipped[] = [];
  const pending: Endpoint[] = [];
  for (const ep of remotes) {
    const id = ep.cluster_id;
    if (id === local.cluster_id) continue;
    const clash = ep.subnets.find((s) => local.subnets.some((l) => cidrsOverlap(s, l)));
    if (clash) {
      skipped.push({ clusterId: id, endpoint: ep, reason: `subnet ${clash} overlaps a local CIDR` });
      continue;
    }
    if (ep.backend !== local.backend) {
      skipped.push({
        clusterId: id,
        endpoint: ep,
        reason: `it uses the ${ep.backend} cable driver and this cluster ${local.backend}: every cluster of a clusterset needs the same one (causeway join --cable-driver)`,
      });
      continue;
    }
    const d = decide(ep);
    if (d) cables.push({ endpoint: ep, usingIP: d.usingIP, usingNAT: d.useNAT });
    else pending.push(ep);
  }
  cables.sort((a, b) => byRemote(a.endpoint, b.endpoint));
  return { cables, skipped, pending };
}

/** Order of remote gateways: by cluster id, then cable name. */
const byRemote = (a: Endpoint, b: Endpoint): number => a.cluster_id.localeCompare(b.cluster_id) || a.cable_name.localeCompare(b.cable_name);

/** Pure: what a globalnet table holds, for the log. */
function globalNatCounts(spec: host.GlobalNatSpec | undefined) {
  return { globalCidr: spec?.globalCidr, services: spec?.services.length ?? 0, addresses: spec?.hosts.length ?? 0, namespaceEgress: spec?.egress?.length ?? 0 };
}

/**
 * How soon a candidate that failed to drop its cables on becoming passive tries again (while it
 * stays passive): until they go, the cables left on its host shadow the route agent's path to the
 * active gateway, cutting that node's pods off the other clusters.
 */
export const PASSIVE_RETRY_MS = 1000;

/** Takes what only the active gateway carries off this host: its cables and (globalnet) its translation table. */
export async function dropCables(d: { readonly driver: CableDriver; readonly globalnet?: GlobalnetHost }): Promise<void> {
  await d.driver.cleanup();
  await d.globalnet?.nat.apply(undefined);
}

/** Pure: the status of a gateway that is not the active one (no connections). */
export function passiveStatus(version: string): GatewayStatus {
  return { version, haStatus: "passive", statusFailure: "", connections: [], updatedAt: new Date().toISOString() };
}

const PUBLIC_IP_RECHECK_MS = 60_000;
/** While a cable is still connecting, status is re-read this often (handshakes take a moment). */
const CONNECTING_RECHECK_MS = 1000;
/** Round-trip statistics and traffic reach the status and metrics this often (Submariner writes its Gateway status every 5 s). */
export const STATUS_REFRESH_MS = 5000;
/** After a pass's status write failed, the next pass (which writes again) is due in this long. */
export const STATUS_RETRY_MS = 1000;

/** What the last pass found; the status is built from it, and from the probes, whenever either changes. */
interface PassResult {
  readonly cables: readonly RemoteCable[];
  readonly states: readonly CableState[];
  readonly pending: readonly Endpoint[];
  readonly skipped: readonly Skipped[];
  readonly failure: string;
}

/**
 * The gateway engine of the active gateway (either mode): keeps its Endpoint published,
 * makes its cable driver carry exactly the cables to the other clusters' endpoints, and reports
 * status. Stopping leaves cables in place (restarts do not cut traffic); uninstall() removes them.
 */
export class GatewayEngine {
  readonly #d: GatewayDeps;
  readonly #driven: ViewDrivenLoop;
  readonly nat: NatDiscovery;
  /** The probes of remote endpoints (undefined when health checks are off). */
  readonly health: HealthChecker | undefined;
  #endpoint: Endpoint;
  #pass: PassResult | undefined;
  #publishing: Promise<void> = Promise.resolve();
  #refresh: NodeJS.Timeout | undefined;
  #publicIp = "";
  #publicIpCheckedAt = -Infinity;
  #lastStatus = "";
  /** The traffic figures of the status, renewed by the periodic refresh (see #publishNow). */
  #summary: GatewayTraffic | undefined;
  #lastSkipped = "";
  #exclusive = false;
  /** The cables left by an earlier process were looked at (once, on the first pass that had remotes). */
  #adopted = false;
  #recheck: NodeJS.Timeout | undefined;
  readonly #drain: DrainingRemotes;
  /** The next pass that removes a draining cable. */
  #drainDue: NodeJS.Timeout | undefined;
  #lastDraining = "";
  /** The status write waiting to start (#publish), if any. */
  #queued: { refresh: boolean; run: Promise<void> } | undefined;
  #statusRetry: NodeJS.Timeout | undefined;
  #lastStatusError = "";

  constructor(d: GatewayDeps) {
    this.#d = d;
    this.#drain = d.drain ?? new DrainingRemotes(d.drainMs);
    this.nat = new NatDiscovery({
      ...d.natDiscovery,
      sourceFor: d.natDiscovery?.sourceFor ?? (async () => undefined),
      log: d.log,
    });
    if (typeof d.publicIp === "string") this.#publicIp = d.publicIp;
    this.#endpoint = localEndpoint(d, this.#publicIp, this.nat.port);
    this.health = d.healthCheck ? new HealthChecker({ ...d.healthCheck, source: d.healthCheckIp, log: d.log }) : undefined;
    const sources = [d.view, this.nat, ...(this.health ? [this.health] : []), ...(d.globalnet?.source.sources ?? [])];
    this.#driven = new ViewDrivenLoop(sources, { name: "gateway", run: () => this.reconcileOnce(), log: d.log, resyncMs: d.resyncMs ?? 30_000 });
  }

  /** This gateway's Endpoint as last published (or about to be). */
  get endpoint(): Endpoint {
    return this.#endpoint;
  }

  get loop(): ReconcileLoop {
    return this.#driven.loop;
  }

  start(): void {
    this.#driven.start();
    this.#d.metrics?.setActive(true);
    this.#refresh = setInterval(() => {
      if (this.#pass) void this.#publish(true).catch((err: unknown) => this.#d.log.warn({ err: errorMessage(err) }, "gateway status refresh failed"));
    }, this.#d.statusRefreshMs ?? STATUS_REFRESH_MS);
  }

  /** Stops the loop, the probes and the status refresh (cables stay). */
  async stop(): Promise<void> {
    if (this.#refresh) clearInterval(this.#refresh);
    await this.#driven.stop();
    // After the pass in flight: it may have set them.
    clearTimeout(this.#recheck);
    clearTimeout(this.#drainDue);
    clearTimeout(this.#statusRetry);
    await this.#publishing;
    this.#d.metrics?.setActive(false);
  }

  /** Re-resolves the public IP at most once a minute; a failure keeps the last one (logged). */
  async #refreshEndpoint(): Promise<void> {
    const resolve = this.#d.publicIp;
    if (typeof resolve === "function" && performance.now() - this.#publicIpCheckedAt >= PUBLIC_IP_RECHECK_MS) {
      this.#publicIpCheckedAt = performance.now();
      try {
        const ip = await resolve();
        if (ip !== this.#publicIp) this.#d.log.info({ publicIp: ip || "(none)", was: this.#publicIp || "(none)" }, "public IP resolved");
        this.#publicIp = ip;
      } catch (err) {
        this.#d.log.warn({ err: errorMessage(err), keeping: this.#publicIp || "(none)" }, "public IP resolution failed; retrying in a minute");
      }
    }
    this.#endpoint = localEndpoint(this.#d, this.#publicIp, this.nat.port, this.#d.globalnet?.source.globalCidr());
  }

  /** Globalnet: what the translation table should hold (undefined: no table — no global CIDR). */
  async #globalNatSpec(g: GlobalnetDeps, all: ReadonlyMap<string, Endpoint>, exports: readonly ServiceExport[]): Promise<host.GlobalNatSpec | undefined> {
    const globalCidr = g.source.globalCidr();
    if (!globalCidr) return undefined;
    const egress = await g.source.namespaceEgress?.(globalCidr);
    const slot = this.#d.gatewaySlot;
    return globalNatSpec({
      globalCidr,
      clusterId: this.#d.site.clusterId,
      healthCheckIp: this.#d.healthCheckIp,
      endpoints: all,
      exports,
      egress,
      ...(slot !== undefined ? { gatewaySlot: slot } : {}),
    });
  }

  /** Globalnet: the translation table from the cluster's exports and the other clusters' endpoints (none without a global CIDR). */
  async #translate(all: ReadonlyMap<string, Endpoint>): Promise<void> {
    const g = this.#d.globalnet;
    if (!g) return;
    const t0 = performance.now();
    const exports = g.source.exports();
    const spec = await this.#globalNatSpec(g, all, exports);
    const want = spec ? host.globalNatDigest(spec) : undefined;
    const seen = await g.nat.observe();
    // A table already here (this node led before this process: a restart) stays as it is until the
    // exports are known: rebuilt without them, it would cut every flow to them until the broker answers.
    const keep = seen !== undefined && g.source.exportsKnown?.() === false;
    if (seen !== want && keep) this.#d.log.info({ globalCidr: spec?.globalCidr }, "globalnet translation kept as found until the broker's exports are known");
    else if (seen !== want) {
      await g.nat.apply(spec, { digest: seen });
      this.#d.log.info({ ...globalNatCounts(spec), ms: Math.round(performance.now() - t0) }, "globalnet translation updated");
    }
    g.metrics?.update(spec?.globalCidr, exports);
  }

  async reconcileOnce(): Promise<void> {
    const { view, site, driver, log } = this.#d;
    await this.#refreshEndpoint();
    const mine = view.endpointsOf(site.clusterId);
    // Answer NAT discovery for this endpoint before peers learn of it (they ask at once).
    this.nat.setLocal(this.endpoint);
    // Another gateway of this cluster published before us: we take over (active-active: join it)
    // and traffic is waiting.
    const takingOver = !this.#exclusive && mine.some((ep) => ep.cable_name !== this.endpoint.cable_name);
    // Otherwise the Endpoint first, as always: a pass that cannot write it (broker or API server
    // unreachable, a view being rebuilt) stops before it touches a cable.
    if (!takingOver) await this.#publishEndpoint(mine);
    const all = view.endpoints();
    const remotes = remoteGateways(site.clusterId, all, (id) => view.endpointsOf(id));
    this.nat.track(remotes, takingOver);
    await this.#adoptInstalled(remotes);
    const { cables, skipped, pending } = selectRemotes(this.endpoint, remotes, (ep) => this.nat.decision(remoteKey(ep)));
    const news = skipped.map((s) => `${s.clusterId}: ${s.reason}`).join("; ");
    if (news !== this.#lastSkipped) for (const s of skipped) log.warn({ remoteCluster: s.clusterId, reason: s.reason }, "not connecting to remote cluster");
    this.#lastSkipped = news;
    // Taking over, cables before the Endpoint: the cluster's route agents steer to this node as
    // soon as they see its Endpoint, so it carries the cables by then (make-before-break).
    let states: CableState[];
    let failure = "";
    const t0 = performance.now();
    const untranslated = await this.#translate(all).then(
      () => "",
      (err: unknown) => `globalnet translation failed: ${errorMessage(err)}`,
    );
    const carried = this.#carried(cables);
    try {
      // One state per cable, the draining ones last: theirs are not reported.
      states = (await driver.sync({ endpoint: this.endpoint, underlayMtu: this.#d.underlayMtu, source: this.#d.healthCheckIp }, carried)).slice(
        0,
        cables.length,
      );
    } catch (err) {
      failure = errorMessage(err);
      states = cables.map((c) => ({ clusterId: c.endpoint.cluster_id, status: "error", message: failure }));
    }
    const t1 = performance.now();
    if (takingOver) await this.#publishEndpoint(mine);
    log.debug(
      { cablesMs: Math.round(t1 - t0), endpointMs: Math.round(performance.now() - t1), cables: cables.length, pending: pending.length, takingOver },
      "gateway pass",
    );
    this.health?.track(cables.map((c) => ({ clusterId: c.endpoint.cluster_id, ip: c.endpoint.healthCheckIP, key: remoteKey(c.endpoint) })));
    this.#pass = { cables, states, pending, skipped, failure: [failure, untranslated].filter(Boolean).join("; ") };
    this.#d.metrics?.syncIterations.inc();
    // Not awaited: the next pass (a remote gateway withdrawn, say) must not wait for a slow API
    // server or a conntrack count under load. A write that fails is tried again by the next pass.
    void this.#publish().catch((err: unknown) => this.#statusFailed(err));
    if (failure) throw new CableDriverError(`cable driver ${driver.name} failed: ${failure}`);
    if (untranslated) throw new TranslationError(untranslated);
    if (states.some((s) => s.status === "connecting")) {
      if (this.#recheck) clearTimeout(this.#recheck);
      this.#recheck = setTimeout(() => this.loop.trigger(), CONNECTING_RECHECK_MS);
    }
  }

  /** The cables to carry: `cables` and the remote gateways draining (logged as they start); a pass is due when the first of them is to go. */
  #carried(cables: readonly RemoteCable[]): RemoteCable[] {
    const now = performance.now();
    const carried = this.#drain.next(cables, now);
    const draining = carried.filter((c) => c.draining).map((c) => c.endpoint.cable_name);
    const news = draining.join(",");
    if (news !== this.#lastDraining && draining.length)
      this.#d.log.info(
        { draining, forMs: this.#drain.drainMs },
        "remote gateways withdrawn: their cables kept receive-only while their clusters move their flows",
      );
    this.#lastDraining = news;
    clearTimeout(this.#drainDue);
    const due = this.#drain.dueIn(now);
    if (due !== undefined) this.#drainDue = setTimeout(() => this.loop.trigger(), due + 10);
    return carried;
  }

  /**
   * Publishes this gateway's Endpoint when it differs; with one gateway per cluster, removes the
   * cluster's other (stale) endpoints on every pass that sees one.
   */
  async #publishEndpoint(mine: readonly Endpoint[]): Promise<void> {
    const { sink, log } = this.#d;
    const published = mine.find((ep) => ep.cable_name === this.endpoint.cable_name);
    if (!published || !sameValue(published, this.endpoint)) {
      await sink.putEndpoint(this.endpoint);
      log.info({ endpoint: this.endpoint.cable_name, privateIp: this.endpoint.private_ip }, "published local endpoint");
    }
    // Active-active: the cluster's other Endpoints belong to gateways as active as this one; the
    // stale among them (their lease gone) are removed by whoever holds a slot (activeactive.ts).
    if (this.#d.gatewaySlot !== undefined) {
      this.#exclusive = true;
      return;
    }
    // One gateway per cluster: endpoints of ours left by an earlier gateway are stale. Removed
    // after ours is published (the newest endpoint wins), so the cluster is never without one.
    // Not only on the first pass: one written after it (a killed gateway restarted at once that
    // led for a moment, its write landing behind this gateway's first pass) would otherwise stay
    // the cluster's newest, and the other clusters would send its traffic to a node without cables.
    for (const ep of mine) {
      if (ep.cable_name === this.endpoint.cable_name) continue;
      await sink.deleteEndpoint(ep);
      // Its gateway is gone or has stepped down: its status must not go on saying active.
      if (ep.hostname !== this.#d.nodeName) await sink.putStatus(ep.hostname, passiveStatus(this.#d.version));
      log.info({ endpoint: ep.cable_name }, "removed a stale endpoint of this cluster");
    }
    this.#exclusive = true;
  }

  /**
   * First pass with remotes of a new engine — a restarted gateway, or one that regained its lease
   * after pausing with its cables kept: remotes its cables already reach keep their address instead
   * of losing the cable while discovery asks again.
   */
  async #adoptInstalled(remotes: readonly Endpoint[]): Promise<void> {
    if (this.#adopted || !this.#d.driver.installedRemotes) return;
    const undecided = remotes.map(remoteKey).filter((key) => !this.nat.decision(key));
    if (!undecided.length) {
      this.#adopted = true;
      return;
    }
    const installed = await this.#d.driver.installedRemotes().catch(() => new Set<string>());
    for (const key of undecided) this.nat.adopt(key, installed);
    this.#adopted = true;
  }

  /**
   * Publishes the status, one write at a time, each from the latest pass and probes: a request
   * while another waits to start joins it (so a burst of passes makes one write). Rejects when
   * the write it joined fails.
   */
  #publish(refresh = false): Promise<void> {
    if (this.#queued) {
      this.#queued.refresh ||= refresh;
      return this.#queued.run;
    }
    const q: { refresh: boolean; run: Promise<void> } = { refresh, run: Promise.resolve() };
    q.run = this.#publishing.then(() => {
      if (this.#queued === q) this.#queued = undefined;
      return this.#publishNow(q.refresh);
    });
    this.#queued = q;
    this.#publishing = q.run.catch(() => undefined);
    return q.run;
  }

  /** A pass's status write failed: logged once per message, and a pass is due in STATUS_RETRY_MS (it writes again). */
  #statusFailed(err: unknown): void {
    const message = errorMessage(err);
    if (message !== this.#lastStatusError) this.#d.log.warn({ err: message, retryInMs: STATUS_RETRY_MS }, "gateway status write failed; retrying");
    this.#lastStatusError = message;
    clearTimeout(this.#statusRetry);
    this.#statusRetry = setTimeout(() => this.loop.trigger(), STATUS_RETRY_MS);
  }

  /** Resolves once the status writes started so far are done (failed ones too). */
  async settled(): Promise<void> {
    await this.#publishing;
  }

  async #traffic(cables: readonly RemoteCable[]): Promise<Map<string, Traffic>> {
    try {
      return (await this.#d.driver.traffic?.(cables)) ?? new Map();
    } catch (err) {
      this.#d.log.debug({ err: errorMessage(err) }, "cable traffic counters unavailable");
      return new Map();
    }
  }

  /** Open flows this host tracks to or from the cabled clusters' subnets; undefined when they cannot be counted. */
  async #flows(cables: readonly RemoteCable[]): Promise<number | undefined> {
    try {
      return await this.#d.flows?.count([...new Set(cables.flatMap((c) => c.endpoint.subnets))]);
    } catch (err) {
      this.#d.log.debug({ err: errorMessage(err) }, "flow count unavailable");
      return undefined;
    }
  }

  /** What this gateway carries, for the metrics (every publish) and the status (`refresh`, or the first count). */
  async #count(cables: readonly RemoteCable[], refresh: boolean): Promise<void> {
    const device = await this.#d.driver.deviceTraffic?.().catch(() => undefined);
    const flows = this.#d.flows ? await this.#flows(cables) : undefined;
    this.#d.metrics?.setCableTraffic(device);
    if (this.#d.flows) this.#d.metrics?.setFlows(flows);
    if (refresh || !this.#summary) this.#summary = device && { rxBytes: device.rxBytes, txBytes: device.txBytes, ...(flows === undefined ? {} : { flows }) };
  }

  /**
   * `refresh`: the periodic refresh, the only publish that renews the traffic figures in the
   * status (bytes change all the time; a pass's publish reuses the last figures, so traffic
   * alone never writes the status more often than every STATUS_REFRESH_MS).
   */
  async #publishNow(refresh: boolean): Promise<void> {
    const pass = this.#pass;
    if (!pass) return;
    const { cables, states, pending, skipped, failure } = pass;
    const samples: ConnectionSample[] = [];
    const traffic = this.#d.metrics ? await this.#traffic(cables) : new Map<string, Traffic>();
    await this.#count(cables, refresh);
    const connections: Connection[] = cables.map((c, i) => {
      const key = remoteKey(c.endpoint);
      const s = states[i];
      const health = this.health?.state(key);
      const merged = mergeHealth({ status: s?.status ?? "connecting", statusMessage: s?.message ?? "" }, health);
      const connection: Connection = { ...merged, endpoint: c.endpoint, usingIP: c.usingIP, usingNAT: c.usingNAT };
      const rtt = health?.rtt.summary();
      samples.push({ connection, establishedAtMs: health?.establishedAtMs ?? 0, rttSeconds: rtt && rtt.average / 1000, traffic: traffic.get(key) });
      return connection;
    });
    for (const ep of pending) {
      connections.push({ status: "connecting", statusMessage: "NAT discovery in progress", endpoint: ep, usingIP: "", usingNAT: false });
    }
    for (const s of skipped)
      connections.push({ status: "error", statusMessage: `not connected: ${s.reason}`, endpoint: s.endpoint, usingIP: "", usingNAT: false });
    connections.sort((a, b) => byRemote(a.endpoint, b.endpoint));
    this.#d.metrics?.update(this.endpoint, samples);
    const body = {
      version: this.#d.version,
      haStatus: "active" as const,
      localEndpoint: this.endpoint,
      statusFailure: failure,
      connections,
      ...(this.#summary ? { traffic: this.#summary } : {}),
    };
    const fingerprint = JSON.stringify(body);
    if (fingerprint === this.#lastStatus) return;
    const status: GatewayStatus = { ...body, updatedAt: new Date().toISOString() };
    await this.#d.sink.putStatus(this.#d.nodeName, status);
    this.#lastStatus = fingerprint;
    this.#lastStatusError = "";
  }

  /** Removes the cables, then this gateway's Endpoint and status. */
  async uninstall(): Promise<void> {
    await this.stop();
    await dropCables(this.#d);
    await this.#d.sink.deleteEndpoint(this.endpoint);
    await this.#d.sink.deleteStatus(this.#d.nodeName);
  }
}
