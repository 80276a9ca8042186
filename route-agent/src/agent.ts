import { host, type IntraClusterMode, type Logger, type ReconcileLoop, type SiteNode, type view, ViewDrivenLoop } from "@causeway/common";
import { type ClustersetSource, clustersetNatSpec } from "./clusterset.ts";
import { desiredState, OWNERSHIP, withClustersetRoutes } from "./desired.ts";
import { activeGateways, ValidationError } from "@causeway/api";

/** The site file names an address this host does not have: wrong --node, or a wrong site file. */
export class NodeIpNotFoundError extends ValidationError {
  constructor(node: SiteNode) {
    super(`node ${node.name}'s address ${node.ip} is on no interface of this host; check --node and the node's ip in the site file`);
    this.name = "NodeIpNotFoundError";
  }
}

/** What the route agent knows of its own cluster (a site file, or the cluster's join configuration). */
export interface AgentCluster {
  readonly clusterId: string;
  readonly clusterCIDRs: readonly string[];
  readonly serviceCIDRs: readonly string[];
  readonly intraCluster: IntraClusterMode;
}

export interface RouteAgentDeps {
  readonly site: AgentCluster;
  readonly node: SiteNode;
  /** Gateway endpoints: the broker (standalone) or the local API (Kubernetes mode). */
  readonly endpoints: view.EndpointView;
  /** The cluster's nodes: the site file (standalone) or Node objects (Kubernetes mode). */
  readonly nodes: view.NodeView;
  readonly adapters: host.HostAdapters;
  /** Imports with clusterset IPs (none: the node translates none). */
  readonly clusterset?: ClustersetSource;
  readonly log: Logger;
  readonly resyncMs?: number;
}

/**
 * The route agent of one node (either mode): follows the gateway endpoints and nodes and keeps
 * the node's routes, vx-causeway and packet-filter rules in line. Stopping it leaves the
 * host as it is, so a restart never interrupts traffic; `uninstall()` removes everything.
 */
export class RouteAgent {
  readonly #d: RouteAgentDeps;
  readonly #driven: ViewDrivenLoop;
  readonly #reconciler: host.HostReconciler;
  lastResult: host.ReconcileResult | undefined;

  constructor(d: RouteAgentDeps) {
    this.#d = d;
    this.#reconciler = new host.HostReconciler(d.adapters, OWNERSHIP);
    this.#driven = new ViewDrivenLoop([d.endpoints, d.nodes, ...(d.clusterset?.sources ?? [])], {
      name: "route-agent",
      run: () => this.reconcileOnce(),
      log: d.log,
      resyncMs: d.resyncMs ?? 30_000,
    });
  }

  get loop(): ReconcileLoop {
    return this.#driven.loop;
  }

  /** Ready once a pass has applied the routes (before that this node may lack its cross-cluster routes). */
  ready(): string | undefined {
    return this.loop.passes > 0 ? undefined : "routes not applied yet (waiting for the endpoints and a first pass)";
  }

  start(): void {
    this.#driven.start();
  }

  stop(): Promise<void> {
    return this.#driven.stop();
  }

  async reconcileOnce(): Promise<void> {
    const { site, node, adapters, log } = this.#d;
    const eps = this.#d.endpoints.endpoints();
    const underlay = await adapters.net.interfaceOf(node.ip);
    if (!underlay) throw new NodeIpNotFoundError(node);
    const desired = desiredState({
      node,
      nodes: this.#d.nodes.nodes(),
      localCidrs: [...site.clusterCIDRs, ...site.serviceCIDRs],
      localEndpoints: activeGateways(eps.get(site.clusterId), this.#d.endpoints.endpointsOf(site.clusterId)),
      remoteEndpoints: [...eps].filter(([id]) => id !== site.clusterId).map(([, e]) => e),
      underlay,
      intraCluster: site.intraCluster,
    });
    const cs = this.#d.clusterset;
    const clustersetNat = cs ? clustersetNatSpec(site.clusterId, cs.imports(), cs.blocks()) : undefined;
    const res = await this.#reconciler.reconcile(clustersetNat ? { ...withClustersetRoutes(desired, clustersetNat.blocks, underlay), clustersetNat } : desired);
    this.lastResult = res;
    if (res.netOps.length || res.filterChanged || res.clustersetNatChanged) {
      const services = clustersetNat?.services.length ?? 0;
      log.info({ ops: res.netOps.length, filterChanged: res.filterChanged, clustersetServices: services, ms: Math.round(res.durationMs) }, "host updated");
    } else {
      log.debug({ ms: Math.round(res.durationMs) }, "host in sync");
    }
  }

  /** Removes every route, link, rule, chain and set the agent owns. */
  async uninstall(): Promise<void> {
    await this.stop();
    await this.#reconciler.removeAll();
  }
}
