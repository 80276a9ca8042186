import { type Cluster, errorMessage } from "@causeway/api";
import { kube, type Logger, type SiteComponent, view } from "@causeway/common";
import { type BrokerConnection } from "@causeway/common/broker-client";
import type { CableDriver } from "./cable/driver.ts";
import { dropCables, type GatewayDeps, GatewayEngine, PASSIVE_RETRY_MS, passiveStatus } from "./engine.ts";
import type { DrainingRemotes } from "./drain.ts";
import { Fence } from "./fence.ts";
import { type GlobalnetHost, KubeGlobalnetSource } from "./globalnet.ts";
import { awaitSuccessor } from "./handover.ts";
import { UnderlayWatch } from "./underlay.ts";
import type { GatewayMetrics } from "./metrics.ts";
import { BrokerSyncer } from "./sync/syncer.ts";

/** The Lease gateways of one cluster compete for (reference §5.1, our name). */
export const GATEWAY_LEASE = "causeway-gateway-lock";

export interface ElectionTimings {
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
}

export interface KubeGatewayDeps {
  readonly client: kube.KubeClient;
  readonly namespace: string;
  readonly cluster: kube.JoinedCluster;
  readonly nodeName: string;
  readonly privateIp: string;
  readonly publicIp?: GatewayDeps["publicIp"];
  readonly natEnabled?: boolean;
  readonly cablePort?: number;
  readonly preferredServer?: boolean;
  readonly natDiscovery?: GatewayDeps["natDiscovery"];
  readonly healthCheckIp: string;
  readonly underlayMtu: number;
  readonly driver: CableDriver;
  readonly conn: BrokerConnection;
  readonly log: Logger;
  readonly version: string;
  readonly resyncMs: number;
  readonly election: ElectionTimings;
  readonly healthCheck?: GatewayDeps["healthCheck"];
  readonly metrics?: GatewayMetrics;
  readonly flows?: GatewayDeps["flows"];
  /** The interface carrying the private IP: while it is down this candidate withdraws from the election. */
  readonly underlayDev?: string;
  /** Globalnet's translation table (kept while leading, when the cluster has a global CIDR). */
  readonly globalnet?: GlobalnetHost;
}

/** A gateway candidate's identity in the Leases it holds: stable across its restarts, so a restarted gateway renews what it held. */
export const gatewayIdentity = (nodeName: string): string => `${nodeName}-causeway-gateway`;

/** Pure: the cluster record of a joined cluster's configuration. */
export function localClusterOf(c: kube.JoinedCluster): Cluster {
  return { cluster_id: c.clusterId, cluster_cidr: [...c.clusterCIDRs], service_cidr: [...c.serviceCIDRs], global_cidr: [...(c.globalCIDRs ?? [])] };
}

/** The broker syncer of a cluster's gateway: its Endpoint and Cluster objects kept in line with the broker. */
export function brokerSyncerOf(d: KubeGatewayDeps): BrokerSyncer {
  return new BrokerSyncer({
    conn: d.conn,
    client: d.client,
    namespace: d.namespace,
    localCluster: localClusterOf(d.cluster),
    log: d.log,
    resyncMs: d.resyncMs,
  });
}

/**
 * A gateway engine on the cluster's Endpoint objects; `fence` (while active) cuts it off the
 * moment the gateway stops being active; `gatewaySlot`: its active-active slot.
 */
export function kubeEngine(d: KubeGatewayDeps, fence?: Fence, gatewaySlot?: number, drain?: DrainingRemotes): GatewayEngine {
  return new GatewayEngine({
    site: d.cluster,
    nodeName: d.nodeName,
    privateIp: d.privateIp,
    publicIp: d.publicIp,
    natEnabled: d.natEnabled,
    cablePort: d.cablePort,
    preferredServer: d.preferredServer,
    natDiscovery: d.natDiscovery,
    healthCheckIp: d.healthCheckIp,
    underlayMtu: d.underlayMtu,
    view: new view.KubeEndpointView(d.client, d.namespace, d.log),
    sink: fence ? fence.sink(new view.KubeGatewaySink(d.client, d.namespace)) : new view.KubeGatewaySink(d.client, d.namespace),
    driver: fence ? fence.driver(d.driver) : d.driver,
    log: d.log,
    version: d.version,
    resyncMs: d.resyncMs,
    healthCheck: d.healthCheck,
    metrics: d.metrics,
    ...(d.flows ? { flows: d.flows } : {}),
    ...(gatewaySlot !== undefined ? { gatewaySlot } : {}),
    ...(drain ? { drain } : {}),
    ...(d.globalnet
      ? {
          globalnet: {
            ...d.globalnet,
            source: new KubeGlobalnetSource({
              client: d.client,
              namespace: d.namespace,
              conn: d.conn,
              clusterId: d.cluster.clusterId,
              configured: d.cluster.globalCIDRs?.[0],
              log: d.log,
            }),
          },
        }
      : {}),
  });
}

/**
 * A gateway candidate in Kubernetes mode: campaigns for the cluster's Lease; while it leads it
 * runs the broker syncer and the gateway engine (the same engine as standalone mode, seeing the
 * local Endpoint objects). As in standalone mode, a leader that cannot renew past the deadline
 * pauses (engine and syncer stopped, cables kept: an API-server outage does not cut traffic),
 * and only when another candidate is seen holding the Lease does it remove its cables (they
 * would shadow its route agent's path to the new gateway) and report itself passive.
 */
export class KubeGateway implements SiteComponent {
  readonly #d: KubeGatewayDeps;
  readonly #elector: kube.LeaseElector;
  readonly #sink: view.GatewaySink;
  #engine: GatewayEngine | undefined;
  #fence: Fence | undefined;
  #syncer: BrokerSyncer | undefined;
  #transition: Promise<void> = Promise.resolve();
  /** Cables of ours may be on this host (we led, or an earlier process did). */
  #mayHaveCables = true;
  readonly #identity: string;
  readonly #underlay: UnderlayWatch | undefined;
  #retry: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(d: KubeGatewayDeps) {
    this.#d = d;
    this.#sink = new view.KubeGatewaySink(d.client, d.namespace);
    this.#identity = gatewayIdentity(d.nodeName);
    this.#elector = new kube.LeaseElector({
      client: d.client,
      namespace: d.namespace,
      name: GATEWAY_LEASE,
      identity: this.#identity,
      ...d.election,
      log: d.log,
      onStartedLeading: () => this.#queue(() => this.#lead()),
      onStoppedLeading: () => this.#queue(() => this.#pause()),
      onNewLeader: (id) => {
        d.log.info({ leader: id || "(none)" }, "gateway lease holder changed");
        if (id && id !== this.#identity) this.#queue(() => this.#follow());
      },
    });
    this.#underlay = d.underlayDev ? new UnderlayWatch({ dev: d.underlayDev, log: d.log, onChange: (up) => this.#underlayChanged(up) }) : undefined;
  }

  get isActive(): boolean {
    return this.#elector.isLeader;
  }

  #queue(step: () => Promise<void>): void {
    this.#transition = this.#transition.then(step).catch((err: unknown) => this.#d.log.error({ err: errorMessage(err) }, "gateway role change failed"));
  }

  async #lead(): Promise<void> {
    const d = this.#d;
    if (this.#engine) return;
    this.#mayHaveCables = true;
    this.#syncer = brokerSyncerOf(d);
    this.#fence = new Fence();
    this.#engine = kubeEngine(d, this.#fence);
    this.#syncer.start();
    this.#engine.start();
    d.log.info({ node: d.nodeName }, "gateway active");
  }

  /** Link down: out of the election (the Lease released, so a standby takes over at once), cables removed. Link up: back in. */
  async #underlayChanged(up: boolean): Promise<void> {
    await this.#elector.setEligible(up);
    // The link is down: the cables carry nothing any more, so no hand-over.
    if (!up) this.#queue(() => this.#follow(false));
    await this.#transition;
  }

  /** Stops the engine and syncer at once (in-flight writes abandoned); cables stay. */
  async #halt(): Promise<boolean> {
    if (!this.#engine && !this.#syncer) return false;
    this.#fence?.raise();
    await this.#engine?.stop();
    await this.#syncer?.stop();
    this.#engine = this.#syncer = undefined;
    return true;
  }

  /** Leadership lost without a successor in sight (API server unreachable, or released): paused, cables kept. */
  async #pause(): Promise<void> {
    if (await this.#halt()) this.#d.log.warn({ node: this.#d.nodeName }, "gateway lease not renewed: gateway engine paused, cables kept");
  }

  /**
   * Another candidate holds the Lease: no cables here, passive. Cables found here (a gateway
   * killed and restarted by its kubelet at once, a healed partition) may still carry the traffic
   * of remote clusters that have not yet moved to the successor, so they go make-before-break
   * (`handover`): once the successor's Endpoint is the cluster's newest at the broker and has had
   * time to reach them (bounded, as a graceful stop).
   */
  async #follow(handover = true): Promise<void> {
    await this.#halt();
    if (this.#mayHaveCables) {
      try {
        await this.#dropOwn(handover);
      } catch (err) {
        // Tried again while another candidate leads (PASSIVE_RETRY_MS): until the cables go, this node's pods are cut off.
        clearTimeout(this.#retry);
        this.#retry = setTimeout(() => {
          if (!this.#stopped && !this.#elector.isLeader) this.#queue(() => this.#follow(handover));
        }, PASSIVE_RETRY_MS);
        this.#retry.unref();
        throw err;
      }
    }
    this.#mayHaveCables = false;
    await this.#putPassive();
    this.#d.log.info({ node: this.#d.nodeName, active: this.#elector.leader }, "gateway passive");
  }

  /** The cables and translation found on this host removed (make-before-break with `handover`). */
  async #dropOwn(handover: boolean): Promise<void> {
    // Globalnet's translation goes at once: this node's own pods must leave untranslated for the new gateway.
    await this.#d.globalnet?.nat.apply(undefined);
    if (handover && (await this.#carriesCables())) {
      this.#d.log.info({ node: this.#d.nodeName }, "another gateway leads: keeping this node's cables until its endpoint reaches the other clusters");
      await awaitSuccessor({ broker: this.#d.conn, clusterId: this.#d.cluster.clusterId, node: this.#d.nodeName, log: this.#d.log });
    }
    await dropCables(this.#d);
  }

  /** Whether cables of this gateway are on the host (unknown: assumed). */
  async #carriesCables(): Promise<boolean> {
    if (!this.#d.driver.installedRemotes) return true;
    return this.#d.driver.installedRemotes().then(
      (remotes) => remotes.size > 0,
      () => true,
    );
  }

  async #putPassive(): Promise<void> {
    await this.#sink.putStatus(this.#d.nodeName, passiveStatus(this.#d.version));
  }

  /** Ready as a passive candidate, or as the active gateway once its engine has completed a pass. */
  ready(): string | undefined {
    if (this.#underlay && !this.#underlay.up) return `underlay link ${this.#d.underlayDev} down: withdrawn from the gateway election`;
    if (this.#engine && this.#engine.loop.passes === 0) return "active gateway: cables not set up yet";
    return undefined;
  }

  start(): void {
    this.#queue(() => this.#putPassive());
    this.#elector.start();
    this.#underlay?.start();
  }

  /**
   * Stops campaigning; a leader releases the Lease so that another candidate takes over at once.
   * With another gateway candidate in the cluster this is a hand-over: once the successor's
   * Endpoint is out at the broker (make-before-break, bounded) the cables go too, so the
   * successor's path is the only one. A lone gateway keeps its cables across a restart.
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#retry);
    const wasLeading = this.#elector.isLeader;
    this.#underlay?.stop();
    await this.#elector.stop();
    await this.#transition;
    await this.#halt();
    if (wasLeading && (await this.#otherCandidates()) > 0) {
      await awaitSuccessor({ broker: this.#d.conn, clusterId: this.#d.cluster.clusterId, node: this.#d.nodeName, log: this.#d.log });
      await dropCables(this.#d);
      await this.#putPassive().catch(() => undefined);
    }
  }

  /** Gateway candidates besides this node (nodes labelled for the gateway); 0 when they cannot be listed. */
  async #otherCandidates(): Promise<number> {
    try {
      const nodes = await this.#d.client.list<{ metadata: { name: string } }>(kube.R.node, undefined, { labelSelector: `${view.GATEWAY_NODE_LABEL}=true` });
      return nodes.items.filter((n) => n.metadata.name !== this.#d.nodeName).length;
    } catch (err) {
      this.#d.log.warn({ err: errorMessage(err) }, "cannot list gateway candidates; keeping cables");
      return 0;
    }
  }

  /** Removes this gateway's cables, its Endpoint (locally and at the broker) and its Gateway object. */
  async uninstall(): Promise<void> {
    await this.stop();
    const engine = kubeEngine(this.#d);
    await engine.uninstall();
    await this.#d.conn.delete("endpoint", this.#d.cluster.clusterId, engine.endpoint.cable_name);
  }
}
