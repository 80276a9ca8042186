import { type BrokerConnection, BrokerWatcher, host, newestPerCluster, type Logger, ReconcileLoop, type Site, type SiteNode } from "@causeway/common";
import { desiredState, OWNERSHIP } from "./desired.ts";

export interface RouteAgentDeps {
  readonly site: Site;
  readonly node: SiteNode;
  readonly conn: BrokerConnection;
  readonly adapters: host.HostAdapters;
  readonly log: Logger;
  readonly resyncMs?: number;
}

/**
 * The route agent of one node (standalone mode): watches endpoints at the broker and keeps
 * the node's routes, vx-causeway and packet-filter rules in line. Stopping it leaves the
 * host as it is, so a restart never interrupts traffic; `uninstall()` removes everything.
 */
export class RouteAgent {
  readonly #d: RouteAgentDeps;
  readonly #watcher: BrokerWatcher;
  readonly #reconciler: host.HostReconciler;
  readonly loop: ReconcileLoop;
  lastResult: host.ReconcileResult | undefined;

  constructor(d: RouteAgentDeps) {
    this.#d = d;
    this.#reconciler = new host.HostReconciler(d.adapters, OWNERSHIP);
    this.loop = new ReconcileLoop({ name: "route-agent", run: () => this.reconcileOnce(), log: d.log, resyncMs: d.resyncMs ?? 30_000 });
    this.#watcher = new BrokerWatcher(d.conn, { kinds: ["endpoint"], log: d.log, onChange: () => this.loop.trigger() });
  }

  start(): void {
    this.#watcher.start();
    // Reconcile only once the first list arrived: before it, we know nothing and must not prune.
    void this.#watcher.synced.then(() => this.loop.start());
  }

  async stop(): Promise<void> {
    this.#watcher.stop();
    await this.loop.stop();
  }

  async reconcileOnce(): Promise<void> {
    const { site, node, adapters, log } = this.#d;
    const eps = newestPerCluster(this.#watcher.items("endpoint"));
    const underlay = (await adapters.net.interfaceOf(node.ip)) ?? { dev: "eth0", mtu: 1500 };
    const desired = desiredState({
      node,
      nodes: site.nodes,
      localCidrs: [...site.clusterCIDRs, ...site.serviceCIDRs],
      localEndpoint: eps.get(site.clusterId),
      remoteEndpoints: [...eps].filter(([id]) => id !== site.clusterId).map(([, e]) => e),
      underlay,
    });
    const res = await this.#reconciler.reconcile(desired);
    this.lastResult = res;
    if (res.netOps.length || res.filterChanged) {
      log.info({ ops: res.netOps.length, filterChanged: res.filterChanged, ms: Math.round(res.durationMs) }, "host updated");
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
