import { type Cluster, errorMessage } from "@causeway/api";
import { type BrokerConnection, kube, type Logger, type SiteComponent, view } from "@causeway/common";
import type { CableDriver } from "./cable/driver.ts";
import { type GatewayDeps, GatewayEngine, passiveStatus } from "./engine.ts";
import { Fence } from "./fence.ts";
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
}

/**
 * A gateway candidate in Kubernetes mode: campaigns for the cluster's Lease; while it leads it
 * runs the broker syncer and the gateway engine (the same engine as standalone mode, seeing the
 * local Endpoint objects); otherwise it only reports itself passive in its Gateway object.
 */
export class KubeGateway implements SiteComponent {
  readonly #d: KubeGatewayDeps;
  readonly #elector: kube.LeaseElector;
  readonly #sink: view.GatewaySink;
  #engine: GatewayEngine | undefined;
  #fence: Fence | undefined;
  #syncer: BrokerSyncer | undefined;
  #transition: Promise<void> = Promise.resolve();

  constructor(d: KubeGatewayDeps) {
    this.#d = d;
    this.#sink = new view.KubeGatewaySink(d.client, d.namespace);
    this.#elector = new kube.LeaseElector({
      client: d.client,
      namespace: d.namespace,
      name: GATEWAY_LEASE,
      identity: `${d.nodeName}-causeway-gateway`,
      ...d.election,
      log: d.log,
      onStartedLeading: () => this.#queue(() => this.#lead()),
      onStoppedLeading: () => this.#queue(() => this.#follow()),
      onNewLeader: (id) => d.log.info({ leader: id || "(none)" }, "gateway lease holder changed"),
    });
  }

  get isActive(): boolean {
    return this.#elector.isLeader;
  }

  #queue(step: () => Promise<void>): void {
    this.#transition = this.#transition.then(step).catch((err: unknown) => this.#d.log.error({ err: errorMessage(err) }, "gateway role change failed"));
  }

  #localCluster(): Cluster {
    const c = this.#d.cluster;
    return { cluster_id: c.clusterId, cluster_cidr: [...c.clusterCIDRs], service_cidr: [...c.serviceCIDRs], global_cidr: [] };
  }

  /** An engine; `fence` (while leading) cuts it off the moment leadership ends. */
  #newEngine(fence?: Fence): GatewayEngine {
    const d = this.#d;
    return new GatewayEngine({
      site: d.cluster,
      nodeName: d.nodeName,
      privateIp: d.privateIp,
      publicIp: d.publicIp,
      natEnabled: d.natEnabled,
      natDiscovery: d.natDiscovery,
      healthCheckIp: d.healthCheckIp,
      underlayMtu: d.underlayMtu,
      view: new view.KubeEndpointView(d.client, d.namespace, d.log),
      sink: fence ? fence.sink(this.#sink) : this.#sink,
      driver: fence ? fence.driver(d.driver) : d.driver,
      log: d.log,
      version: d.version,
      resyncMs: d.resyncMs,
      healthCheck: d.healthCheck,
      metrics: d.metrics,
    });
  }

  async #lead(): Promise<void> {
    const d = this.#d;
    this.#syncer = new BrokerSyncer({
      conn: d.conn,
      client: d.client,
      namespace: d.namespace,
      localCluster: this.#localCluster(),
      log: d.log,
      resyncMs: d.resyncMs,
    });
    this.#fence = new Fence();
    this.#engine = this.#newEngine(this.#fence);
    this.#syncer.start();
    this.#engine.start();
    d.log.info({ node: d.nodeName }, "gateway active");
  }

  async #follow(): Promise<void> {
    // Cables stay as they are: a successor on another node takes over; this node's routes are re-pointed by its route agent.
    this.#fence?.raise();
    await this.#engine?.stop();
    await this.#syncer?.stop();
    this.#engine = this.#syncer = undefined;
    await this.#putPassive();
    this.#d.log.info({ node: this.#d.nodeName }, "gateway passive");
  }

  async #putPassive(): Promise<void> {
    await this.#sink.putStatus(this.#d.nodeName, passiveStatus(this.#d.version));
  }

  /** Ready as a passive candidate, or as the active gateway once its engine has completed a pass. */
  ready(): string | undefined {
    if (this.#engine && this.#engine.loop.passes === 0) return "active gateway: cables not set up yet";
    return undefined;
  }

  start(): void {
    this.#queue(() => this.#putPassive());
    this.#elector.start();
  }

  /** Stops campaigning; a leader releases the Lease so that another candidate takes over at once. Cables stay. */
  async stop(): Promise<void> {
    await this.#elector.stop();
    await this.#transition;
    await this.#engine?.stop();
    await this.#syncer?.stop();
  }

  /** Removes this gateway's cables, its Endpoint (locally and at the broker) and its Gateway object. */
  async uninstall(): Promise<void> {
    await this.stop();
    const engine = this.#newEngine();
    await engine.uninstall();
    await this.#d.conn.delete("endpoint", this.#d.cluster.clusterId, engine.endpoint.cable_name);
  }
}
