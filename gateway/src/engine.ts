import { cableName, cidrsOverlap, type Connection, type Endpoint, errorMessage, type GatewayStatus } from "@causeway/api";
import { type Logger, type ReconcileLoop, type view, ViewDrivenLoop } from "@causeway/common";
import type { CableDriver, CableState, RemoteCable } from "./cable/driver.ts";

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
  readonly publicIp?: string;
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
}

/** Pure: this gateway's Endpoint. */
export function localEndpoint(d: Pick<GatewayDeps, "site" | "nodeName" | "privateIp" | "publicIp" | "healthCheckIp" | "driver">): Endpoint {
  return {
    cluster_id: d.site.clusterId,
    cable_name: cableName(d.site.clusterId, d.privateIp),
    healthCheckIP: d.healthCheckIp,
    hostname: d.nodeName,
    subnets: [...d.site.serviceCIDRs, ...d.site.clusterCIDRs],
    private_ip: d.privateIp,
    public_ip: d.publicIp ?? "",
    nat_enabled: false,
    backend: d.driver.name as Endpoint["backend"],
    backend_config: { "udp-port": "4500", "natt-discovery-port": "4490" },
  };
}

/** Pure: which remote endpoints get a cable, and why the others do not. */
export function selectRemotes(
  local: Endpoint,
  all: ReadonlyMap<string, Endpoint>,
): { cables: RemoteCable[]; skipped: { clusterId: string; reason: string }[] } {
  const cables: RemoteCable[] = [];
  const skipped: { clusterId: string; reason: string }[] = [];
  for (const [id, ep] of all) {
    if (id === local.cluster_id) continue;
    const clash = ep.subnets.find((s) => local.subnets.some((l) => cidrsOverlap(s, l)));
    if (clash) {
      skipped.push({ clusterId: id, reason: `subnet ${clash} overlaps a local CIDR` });
      continue;
    }
    // NAT discovery arrives with issue 4; until then the private IP is used unless NAT is declared.
    const useNat = ep.nat_enabled && ep.public_ip !== "";
    cables.push({ endpoint: ep, usingIP: useNat ? ep.public_ip : ep.private_ip, usingNAT: useNat });
  }
  cables.sort((a, b) => a.endpoint.cluster_id.localeCompare(b.endpoint.cluster_id));
  return { cables, skipped };
}

/**
 * The gateway engine of the active gateway (either mode): keeps its Endpoint published,
 * makes its cable driver carry exactly the cables to the other clusters' endpoints, and reports
 * status. Stopping leaves cables in place (restarts do not cut traffic); uninstall() removes them.
 */
export class GatewayEngine {
  readonly #d: GatewayDeps;
  readonly #driven: ViewDrivenLoop;
  readonly endpoint: Endpoint;
  #lastStatus = "";
  #exclusive = false;

  constructor(d: GatewayDeps) {
    this.#d = d;
    this.endpoint = localEndpoint(d);
    this.#driven = new ViewDrivenLoop([d.view], { name: "gateway", run: () => this.reconcileOnce(), log: d.log, resyncMs: d.resyncMs ?? 30_000 });
  }

  get loop(): ReconcileLoop {
    return this.#driven.loop;
  }

  start(): void {
    this.#driven.start();
  }

  stop(): Promise<void> {
    return this.#driven.stop();
  }

  async reconcileOnce(): Promise<void> {
    const { view, sink, site, driver, log } = this.#d;
    const mine = view.endpointsOf(site.clusterId);
    if (!this.#exclusive) {
      // One gateway per cluster: endpoints of ours left by an earlier gateway are stale.
      for (const ep of mine) {
        if (ep.cable_name !== this.endpoint.cable_name) {
          await sink.deleteEndpoint(ep);
          log.info({ endpoint: ep.cable_name }, "removed a stale endpoint of this cluster");
        }
      }
      this.#exclusive = true;
    }
    const published = mine.find((ep) => ep.cable_name === this.endpoint.cable_name);
    if (!published || JSON.stringify(published) !== JSON.stringify(this.endpoint)) {
      await sink.putEndpoint(this.endpoint);
      log.info({ endpoint: this.endpoint.cable_name, privateIp: this.endpoint.private_ip }, "published local endpoint");
    }
    const all = view.endpoints();
    const { cables, skipped } = selectRemotes(this.endpoint, all);
    for (const s of skipped) log.warn({ remoteCluster: s.clusterId, reason: s.reason }, "not connecting to remote cluster");
    let states: CableState[];
    let failure = "";
    try {
      states = await driver.sync({ endpoint: this.endpoint, underlayMtu: this.#d.underlayMtu }, cables);
    } catch (err) {
      failure = errorMessage(err);
      states = cables.map((c) => ({ clusterId: c.endpoint.cluster_id, status: "error", message: failure }));
    }
    await this.#publishStatus(cables, states, failure);
    if (failure) throw new Error(`cable driver ${driver.name} failed: ${failure}`);
  }

  async #publishStatus(cables: readonly RemoteCable[], states: readonly CableState[], failure: string): Promise<void> {
    const connections: Connection[] = cables.map((c) => {
      const s = states.find((x) => x.clusterId === c.endpoint.cluster_id);
      return { status: s?.status ?? "connecting", statusMessage: s?.message ?? "", endpoint: c.endpoint, usingIP: c.usingIP, usingNAT: c.usingNAT };
    });
    const body = { version: this.#d.version, haStatus: "active" as const, localEndpoint: this.endpoint, statusFailure: failure, connections };
    const fingerprint = JSON.stringify(body);
    if (fingerprint === this.#lastStatus) return;
    const status: GatewayStatus = { ...body, updatedAt: new Date().toISOString() };
    await this.#d.sink.putStatus(this.#d.nodeName, status);
    this.#lastStatus = fingerprint;
  }

  /** Removes the cables, then this gateway's Endpoint and status. */
  async uninstall(): Promise<void> {
    await this.stop();
    await this.#d.driver.cleanup();
    await this.#d.sink.deleteEndpoint(this.endpoint);
    await this.#d.sink.deleteStatus(this.#d.nodeName);
  }
}
