import { CAUSEWAY_CRDS, SYSTEM_NAMESPACE } from "@causeway/api";
import { kube, view } from "@causeway/common";
import { joinedBrokerConnection } from "@causeway/common/broker-client";
import { unwireCoreDns } from "./coredns.ts";
import { MEMBER_WORKLOADS } from "./manifests.ts";
import { removeMcsCrds } from "./mcscrds.ts";
import { DeployError } from "./errors.ts";

const PART_OF = "app.kubernetes.io/part-of=causeway";

export interface UninstallOptions {
  readonly kubeconfig?: string;
  readonly context?: string;
  /** How long to wait for the workloads' pods to go (they remove their host state first). */
  readonly podTimeoutMs?: number;
  /** How long to wait for the controller manager to finalize the deleted namespace (default 60 s; then uninstall says it is still terminating). */
  readonly namespaceTimeoutMs?: number;
  readonly say?: (line: string) => void;
}

export interface UninstallResult {
  /** False when nothing of Causeway's was found (a second uninstall). */
  readonly found: boolean;
  readonly clusterId?: string;
  readonly removed: readonly string[];
}

/** Deletes every object of a type carrying `selector` (cluster-wide or in one namespace); returns how many. */
async function deleteLabelled(client: kube.KubeClient, rt: kube.ResourceType, selector: string): Promise<number> {
  const list = await client.list<{ metadata: kube.ObjectMeta }>(rt, undefined, { labelSelector: selector }).catch((err: unknown) => {
    if (err instanceof kube.KubeNotFoundError) return { items: [] }; // the type is gone already (CRD deleted)
    throw err;
  });
  for (const o of list.items) await client.delete(rt, o.metadata.namespace, o.metadata.name);
  return list.items.length;
}

/**
 * `causeway uninstall`: removes Causeway from a member cluster, leaving nothing behind.
 * 1. marks the configuration `uninstalling` and deletes the workloads (DaemonSets, the lighthouse Deployment): each component, stopped,
 *    sees the mark and removes its node's state (cables, routes, rules, chains, interfaces);
 * 2. waits for their pods to go;
 * 3. the cluster leaves the broker (its endpoint, status and exports go with it);
 * 4. CoreDNS forgets the clusterset block; ServiceImports and MCS EndpointSlices it made go;
 * 5. the namespace, cluster roles and bindings, Causeway's CRDs and the gateway node label are
 *    deleted; the MCS API's CRDs only if Causeway created them and no MCS object but its own
 *    imports is left (deploy/src/mcscrds.ts).
 * Every step tolerates what an earlier, interrupted run already removed; a cluster without
 * Causeway is reported as such.
 */
export async function uninstall(o: UninstallOptions): Promise<UninstallResult> {
  const say = o.say ?? (() => undefined);
  const client = await kube.KubeClient.connect({ kubeconfig: o.kubeconfig, context: o.context, timeoutMs: 5000 });
  const removed: string[] = [];
  try {
    await client.ping();
    const installed = (await client.find(kube.R.namespace, undefined, SYSTEM_NAMESPACE)) !== undefined;
    const crds = await client.list<{ metadata: kube.ObjectMeta }>(kube.R.crd, undefined, { labelSelector: PART_OF });
    if (!installed && !crds.items.some((c) => CAUSEWAY_CRDS.some((d) => c.metadata.name === `${d.plural}.${d.group}`))) {
      // Nothing of Causeway's but, perhaps, MCS CRDs an earlier uninstall kept while others' MCS objects used them.
      const mcs = await removeMcsCrds(client);
      if (mcs.note) say(mcs.note);
      if (!mcs.deleted) return { found: false, removed };
      removed.push(`${mcs.deleted} CRDs`);
      say(`deleted the MCS CRDs Causeway installed: nothing uses them any more`);
      return { found: true, removed };
    }
    const cluster = installed ? await stopWorkloads(client, o.podTimeoutMs ?? 120_000, removed, say) : undefined;
    if (cluster) await leaveBroker(cluster, say);
    await removeObjects(client, removed, say);
    await waitNamespaceGone(client, o.namespaceTimeoutMs ?? 60_000, say);
    return { found: true, ...(cluster ? { clusterId: cluster.clusterId } : {}), removed };
  } finally {
    client.close();
  }
}

/** Step 1–2: the uninstalling mark, the workloads deleted, their pods gone. Returns the joined cluster (if its configuration still loads). */
async function stopWorkloads(client: kube.KubeClient, timeoutMs: number, removed: string[], say: (l: string) => void): Promise<kube.JoinedCluster | undefined> {
  const ns = SYSTEM_NAMESPACE;
  const cluster = await kube.loadJoinedCluster(client, ns, true).catch(() => undefined);
  if ((await client.find(kube.R.configMap, ns, kube.CONFIG_MAP)) !== undefined) {
    await client.apply(
      kube.R.configMap,
      { metadata: { name: kube.CONFIG_MAP, namespace: ns }, ...{ data: { uninstalling: "true" } } },
      { fieldManager: "causeway-uninstall" },
    );
  }
  for (const w of MEMBER_WORKLOADS) {
    const rt = w.kind === "DaemonSet" ? kube.R.daemonSet : kube.R.deployment;
    if (await client.delete(rt, ns, w.name)) removed.push(`${w.kind.toLowerCase()}/${w.name}`);
  }
  say("marked the cluster uninstalling and deleted the workloads: each component removes its node's state as it stops");
  await waitPodsGone(client, ns, timeoutMs, say);
  return cluster;
}

/** Step 3: the cluster leaves the broker with its own credential (its endpoint, status and exports go). */
async function leaveBroker(cluster: kube.JoinedCluster, say: (l: string) => void): Promise<void> {
  const conn = joinedBrokerConnection(cluster);
  try {
    await conn.leave(cluster.clusterId);
    say(`cluster ${cluster.clusterId} left the broker at ${cluster.brokerAddress} (its endpoint, status and exports removed)`);
  } catch (err) {
    say(
      `could not leave the broker (${err instanceof Error ? err.message : String(err)}); remove cluster ${cluster.clusterId} there with the broker's admin credential`,
    );
  } finally {
    conn.close();
  }
}

/** Steps 4–5: CoreDNS block, imports and slices, namespace, cluster roles, CRDs, gateway node label. */
async function removeObjects(client: kube.KubeClient, removed: string[], say: (l: string) => void): Promise<void> {
  if (await unwireCoreDns(client)) {
    removed.push("coredns stanza");
    say("CoreDNS no longer forwards clusterset.local");
  }
  const imports = await deleteLabelled(client, kube.R.serviceImport, "app.kubernetes.io/managed-by=causeway-lighthouse");
  const slices = await deleteLabelled(client, kube.R.endpointSlice, "endpointslice.kubernetes.io/managed-by=lighthouse.causeway.io");
  if (imports + slices) say(`removed ${imports} ServiceImport(s) and ${slices} MCS EndpointSlice(s)`);
  // The namespace is Causeway's alone: its objects go first (a namespace is only finalized by the
  // controller manager; this leaves it nothing to do but that).
  for (const rt of [kube.R.service, kube.R.configMap, kube.R.secret, kube.R.roleBinding, kube.R.role, kube.R.serviceAccount, kube.R.lease, kube.R.deployment]) {
    const list = await client.list<{ metadata: kube.ObjectMeta }>(rt, SYSTEM_NAMESPACE).catch(() => ({ items: [] }));
    for (const o of list.items)
      if (!(rt === kube.R.serviceAccount && o.metadata.name === "default")) await client.delete(rt, SYSTEM_NAMESPACE, o.metadata.name);
  }
  if (await client.delete(kube.R.namespace, undefined, SYSTEM_NAMESPACE)) removed.push(`namespace/${SYSTEM_NAMESPACE}`);
  for (const rt of [kube.R.clusterRoleBinding, kube.R.clusterRole]) {
    const n = await deleteLabelled(client, rt, PART_OF);
    if (n) removed.push(`${n} ${rt.plural}`);
  }
  const crds = await removeCrds(client, say);
  if (crds) removed.push(`${crds} CRDs`);
  const nodes = await client.list<{ metadata: kube.ObjectMeta }>(kube.R.node, undefined, { labelSelector: view.GATEWAY_NODE_LABEL });
  for (const n of nodes.items) {
    await client.request("PATCH", kube.resourcePath(kube.R.node, undefined, n.metadata.name), {
      body: { metadata: { labels: { [view.GATEWAY_NODE_LABEL]: null } } },
      contentType: "application/merge-patch+json",
    });
  }
  if (nodes.items.length) removed.push(`gateway label on ${nodes.items.map((n) => n.metadata.name).join(", ")}`);
  say(`deleted ${removed.join(", ") || "nothing more"}`);
}

/** Causeway's own CRDs always; the MCS API's only those Causeway created, and only when nothing else uses them. How many went. */
async function removeCrds(client: kube.KubeClient, say: (l: string) => void): Promise<number> {
  let n = 0;
  for (const d of CAUSEWAY_CRDS) if (await client.delete(kube.R.crd, undefined, `${d.plural}.${d.group}`)) n++;
  const mcs = await removeMcsCrds(client);
  if (mcs.note) say(mcs.note);
  return n + mcs.deleted;
}

/**
 * Waits until the controller manager has finalized the deleted namespace, so that a join right
 * after does not meet a terminating one; past the bound it says so and returns (nothing of
 * Causeway's runs any more: what is left is the controller manager's to finish).
 */
async function waitNamespaceGone(client: kube.KubeClient, timeoutMs: number, say: (l: string) => void): Promise<void> {
  const end = Date.now() + timeoutMs;
  while ((await client.find(kube.R.namespace, undefined, SYSTEM_NAMESPACE)) !== undefined) {
    if (Date.now() > end) {
      say(
        `namespace ${SYSTEM_NAMESPACE} is still terminating after ${Math.round(timeoutMs / 1000)} s (the controller manager finalizes it); join again once it is gone`,
      );
      return;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Waits until no pod of Causeway's runs in the namespace (a cluster without a kubelet has none). */
async function waitPodsGone(client: kube.KubeClient, ns: string, timeoutMs: number, say: (l: string) => void): Promise<void> {
  const pods = { group: "", version: "v1", plural: "pods", kind: "Pod", namespaced: true } as const;
  const end = Date.now() + timeoutMs;
  for (let said = false; ; said = true) {
    const list = await client.list<{ metadata: kube.ObjectMeta }>(pods, ns, { labelSelector: PART_OF });
    if (!list.items.length) return;
    if (!said) say(`waiting for ${list.items.length} pod(s) to remove their node state and stop`);
    if (Date.now() > end)
      throw new DeployError(
        `${list.items.length} Causeway pod(s) still running in ${ns} after ${timeoutMs / 1000} s; re-run 'causeway uninstall' once they are gone`,
      );
    await new Promise((r) => setTimeout(r, 1000));
  }
}
