import { type Cluster, type ClusterObject, ClusterObjectSchema, type Endpoint, type EndpointObject, ensureValidName } from "@causeway/api";
import { type CachedRecord, kube, type Logger, type ReconcileLoop, sameValue, view, ViewDrivenLoop } from "@causeway/common";
import { type BrokerConnection } from "@causeway/common/broker-client";

/** Everything the syncer compares: the broker's records and the local API's objects. */
export interface SyncInput {
  readonly localCluster: Cluster;
  readonly brokerEndpoints: readonly CachedRecord<"endpoint">[];
  readonly brokerClusters: readonly CachedRecord<"cluster">[];
  readonly kubeEndpoints: readonly EndpointObject[];
  readonly kubeClusters: readonly ClusterObject[];
}

/** What to change on each side; applying it twice changes nothing. */
export interface SyncPlan {
  readonly kubeEndpoints: { readonly apply: Endpoint[]; readonly delete: string[] };
  readonly kubeClusters: { readonly apply: Cluster[]; readonly delete: string[] };
  readonly brokerEndpoints: { readonly put: Endpoint[]; readonly delete: string[] };
  readonly brokerCluster: Cluster | undefined;
}

/**
 * Pure: keeps the broker and the local API in line (reference §3.2, admiral's two syncers):
 * other clusters' Endpoints and Clusters flow broker → local (extra local copies removed);
 * this cluster's Endpoints flow local → broker (the local objects are the truth, written by the
 * gateway engine); this cluster's Cluster comes from its join configuration, on both sides, with
 * what the broker placed for it (its clusterset IP block, its global CIDR) where join named none.
 */
export function planSync(i: SyncInput): SyncPlan {
  const me = i.localCluster.cluster_id;
  const brokerOwn = i.brokerClusters.find((r) => r.clusterId === me)?.value;
  const local = placedBy(i.localCluster, brokerOwn);
  const remoteEps = i.brokerEndpoints.filter((r) => r.clusterId !== me).map((r) => r.value);
  const wantKubeEps = new Map(remoteEps.map((e) => [view.endpointObjectName(e), e]));
  const haveKubeEps = new Map(i.kubeEndpoints.map((o) => [o.metadata.name, o]));
  const localEps = i.kubeEndpoints.filter((o) => o.spec.cluster_id === me).map((o) => o.spec);
  const brokerMine = new Map(i.brokerEndpoints.filter((r) => r.clusterId === me).map((r) => [r.name, r.value]));

  const wantKubeClusters = new Map(
    [...i.brokerClusters.filter((r) => r.clusterId !== me).map((r) => r.value), local].map((c) => [ensureValidName(c.cluster_id), c]),
  );
  const haveKubeClusters = new Map(i.kubeClusters.map((o) => [o.metadata.name, o]));

  return {
    kubeEndpoints: {
      apply: [...wantKubeEps].filter(([n, e]) => !sameValue(haveKubeEps.get(n)?.spec, e)).map(([, e]) => e),
      delete: i.kubeEndpoints.filter((o) => o.spec.cluster_id !== me && !wantKubeEps.has(o.metadata.name)).map((o) => o.metadata.name),
    },
    kubeClusters: {
      apply: [...wantKubeClusters].filter(([n, c]) => !sameValue(haveKubeClusters.get(n)?.spec, c)).map(([, c]) => c),
      delete: i.kubeClusters.filter((o) => !wantKubeClusters.has(o.metadata.name)).map((o) => o.metadata.name),
    },
    brokerEndpoints: {
      put: localEps.filter((e) => !sameValue(brokerMine.get(e.cable_name), e)),
      delete: [...brokerMine.keys()].filter((n) => !localEps.some((e) => e.cable_name === n)),
    },
    brokerCluster: sameValue(brokerOwn, local) ? undefined : local,
  };
}

/** Pure: `c` with the clusterset IP block and global CIDR the broker placed (`atBroker`) where `c` names none. */
function placedBy(c: Cluster, atBroker: Cluster | undefined): Cluster {
  if (!atBroker) return c;
  const block = c.clusterset_ip_cidr?.length ? c.clusterset_ip_cidr : atBroker.clusterset_ip_cidr;
  return {
    ...c,
    global_cidr: c.global_cidr.length ? c.global_cidr : [...atBroker.global_cidr],
    ...(block?.length ? { clusterset_ip_cidr: [...block] } : {}),
  };
}

export interface BrokerSyncerDeps {
  readonly conn: BrokerConnection;
  readonly client: kube.KubeClient;
  readonly namespace: string;
  readonly localCluster: Cluster;
  readonly log: Logger;
  readonly resyncMs?: number;
}

/**
 * Runs on the active gateway in Kubernetes mode: one reconcile loop over the broker's records
 * and the local Endpoint and Cluster objects, applying planSync. Route agents then read only the
 * local API, so per-node agents never hold a broker connection.
 */
export class BrokerSyncer {
  readonly #d: BrokerSyncerDeps;
  readonly #broker: view.BrokerEndpointView;
  readonly #endpoints: view.KubeEndpointView;
  readonly #clusters: view.KubeListView<typeof ClusterObjectSchema>;
  readonly #driven: ViewDrivenLoop;

  constructor(d: BrokerSyncerDeps) {
    this.#d = d;
    this.#broker = new view.BrokerEndpointView(d.conn, d.log, ["endpoint", "cluster"]);
    this.#endpoints = new view.KubeEndpointView(d.client, d.namespace, d.log);
    this.#clusters = new view.KubeListView(d.client, kube.R.cluster, d.namespace, ClusterObjectSchema, d.log);
    this.#driven = new ViewDrivenLoop([this.#broker, this.#endpoints, this.#clusters], {
      name: "broker-sync",
      run: () => this.syncOnce(),
      log: d.log,
      resyncMs: d.resyncMs ?? 30_000,
    });
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

  async syncOnce(): Promise<void> {
    const { conn, client, namespace, localCluster, log } = this.#d;
    const plan = planSync({
      localCluster,
      brokerEndpoints: this.#broker.records("endpoint"),
      brokerClusters: this.#broker.records("cluster"),
      kubeEndpoints: this.#endpoints.objects(),
      kubeClusters: this.#clusters.objects(),
    });
    const apply = { fieldManager: view.FIELD_MANAGER };
    for (const e of plan.kubeEndpoints.apply) await client.apply(kube.R.endpoint, view.endpointObject(e, namespace), apply);
    for (const n of plan.kubeEndpoints.delete) await client.delete(kube.R.endpoint, namespace, n);
    for (const c of plan.kubeClusters.apply) {
      await client.apply(
        kube.R.cluster,
        { metadata: { name: ensureValidName(c.cluster_id), namespace, labels: { [view.CLUSTER_LABEL]: c.cluster_id } }, ...{ spec: c } },
        apply,
      );
    }
    for (const n of plan.kubeClusters.delete) await client.delete(kube.R.cluster, namespace, n);
    for (const e of plan.brokerEndpoints.put) await conn.put("endpoint", e.cluster_id, e.cable_name, e);
    for (const n of plan.brokerEndpoints.delete) await conn.delete("endpoint", localCluster.cluster_id, n);
    if (plan.brokerCluster) await conn.put("cluster", localCluster.cluster_id, localCluster.cluster_id, plan.brokerCluster);
    const changes =
      plan.kubeEndpoints.apply.length +
      plan.kubeEndpoints.delete.length +
      plan.kubeClusters.apply.length +
      plan.kubeClusters.delete.length +
      plan.brokerEndpoints.put.length +
      plan.brokerEndpoints.delete.length +
      (plan.brokerCluster ? 1 : 0);
    if (changes)
      log.info(
        { toLocal: plan.kubeEndpoints.apply.length + plan.kubeClusters.apply.length, toBroker: plan.brokerEndpoints.put.length, changes },
        "synced broker and local API",
      );
  }
}
