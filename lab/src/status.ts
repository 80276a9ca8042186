import { SYSTEM_NAMESPACE } from "@causeway/api";
import { kube } from "@causeway/common";
import { LabError } from "./errors.ts";
import { alive } from "./processes.ts";
import type { LabCore } from "./state.ts";

/** One of a gateway's connections as the lab reads it. */
export interface LabConnection {
  readonly endpoint: { readonly cluster_id: string };
  readonly status: string;
  readonly statusMessage?: string;
}

/** Each cluster's active gateway's connections: from the broker (standalone) or the Gateway objects (Kubernetes tier). */
export async function connections(lab: LabCore): Promise<Map<string, LabConnection[]>> {
  const out = new Map<string, LabConnection[]>();
  if (lab.state.kube) {
    for (const c of lab.state.clusters) {
      const client = await lab.kubeClient(c.spec.id);
      try {
        const gws = await client.list<{ status?: { haStatus?: string; connections?: LabConnection[] } }>(kube.R.gateway, SYSTEM_NAMESPACE);
        out.set(c.spec.id, gws.items.find((g) => g.status?.haStatus === "active")?.status?.connections ?? []);
      } finally {
        client.close();
      }
    }
    return out;
  }
  const admin = lab.admin();
  try {
    const { records } = await admin.list("gateway");
    // Only the active gateway's connections (passive candidates report none; a crashed one's stale record is older).
    const newest = new Map<string, string>();
    for (const r of records) {
      const st = JSON.parse(r.valueJson) as { haStatus?: string; updatedAt?: string; connections: LabConnection[] };
      if (st.haStatus !== "active" || (newest.get(r.clusterId) ?? "") > (st.updatedAt ?? "")) continue;
      newest.set(r.clusterId, st.updatedAt ?? "");
      out.set(r.clusterId, st.connections);
    }
  } finally {
    admin.close();
  }
  return out;
}

/**
 * Standalone, active-active: each active gateway's connections, by cluster, then gateway node —
 * only gateways with an Endpoint at the broker. A status alone can be stale: one a gateway sent
 * just before its link was cut reaches the broker when the link is back, after the cluster's
 * other gateways removed its Endpoint and marked it passive, and says "connected" until the
 * gateway writes a new one.
 */
export async function gatewayConnections(lab: LabCore): Promise<Map<string, Map<string, LabConnection[]>>> {
  if (lab.state.kube) return kubeGatewayConnections(lab);
  const out = new Map<string, Map<string, LabConnection[]>>();
  const admin = lab.admin();
  try {
    const published = new Set(
      (await admin.list("endpoint")).records.map((r) => `${r.clusterId}/${(JSON.parse(r.valueJson) as { hostname?: string }).hostname ?? ""}`),
    );
    for (const r of (await admin.list("gateway")).records) {
      const st = JSON.parse(r.valueJson) as { haStatus?: string; connections: LabConnection[] };
      if (st.haStatus !== "active" || !published.has(`${r.clusterId}/${r.name}`)) continue;
      const of = out.get(r.clusterId) ?? new Map<string, LabConnection[]>();
      of.set(r.name, st.connections);
      out.set(r.clusterId, of);
    }
  } finally {
    admin.close();
  }
  return out;
}

/** Kubernetes tier, active-active: the same from each cluster's own API server — its Gateway objects, and its own Endpoint objects. */
async function kubeGatewayConnections(lab: LabCore): Promise<Map<string, Map<string, LabConnection[]>>> {
  const out = new Map<string, Map<string, LabConnection[]>>();
  for (const c of lab.state.clusters) {
    const id = c.spec.id;
    const client = await lab.kubeClient(id);
    try {
      const eps = await client.list<{ spec: { cluster_id: string; hostname: string } }>(kube.R.endpoint, SYSTEM_NAMESPACE);
      const published = new Set(eps.items.filter((e) => e.spec.cluster_id === id).map((e) => e.spec.hostname));
      const gws = await client.list<{ metadata: kube.ObjectMeta; status?: { haStatus?: string; connections?: LabConnection[] } }>(
        kube.R.gateway,
        SYSTEM_NAMESPACE,
      );
      const of = new Map<string, LabConnection[]>();
      for (const g of gws.items) if (g.status?.haStatus === "active" && published.has(g.metadata.name)) of.set(g.metadata.name, g.status.connections ?? []);
      out.set(id, of);
    } finally {
      client.close();
    }
  }
  return out;
}

/**
 * Pure (active-active): what is missing for each cluster's running gateways (`gateways`: cluster id
 * → its gateway nodes) to be active, each with a connected cable to every running gateway of every
 * other cluster.
 */
export function missingPairs(
  gateways: ReadonlyMap<string, readonly string[]>,
  conns: ReadonlyMap<string, ReadonlyMap<string, readonly LabConnection[]>>,
): string[] {
  const missing: string[] = [];
  for (const [id, nodes] of gateways) {
    for (const node of nodes) {
      const mine = conns.get(id)?.get(node);
      if (!mine) {
        missing.push(`${id}/${node} not active (or no Endpoint)`);
        continue;
      }
      for (const [other, theirs] of gateways) {
        if (other === id) continue;
        const up = mine.filter((c) => c.endpoint.cluster_id === other && c.status === "connected").length;
        if (up !== theirs.length) missing.push(`${id}/${node}→${other} (${up} of ${theirs.length} gateways connected)`);
      }
    }
  }
  return missing;
}

/** Each cluster's nodes whose gateway runs: standalone, those whose gateway process the lab runs; Kubernetes tier, its gateway nodes (the DaemonSet's). */
export function runningGateways(lab: LabCore): Map<string, string[]> {
  if (lab.state.kube) return new Map(lab.state.clusters.map((c) => [c.spec.id, c.spec.nodes.filter((n) => n.gateway).map((n) => n.name)]));
  return new Map(
    lab.state.clusters.map((c) => [c.spec.id, c.processes.flatMap((p) => (p.role.startsWith("gateway/") ? [p.role.slice("gateway/".length)] : []))]),
  );
}

/** Waits until every cluster's gateway reports a connected cable to every other cluster (active-active: every running gateway to each of the others'); LabError naming what each missing cable's gateway says. */
export async function waitConnected(lab: LabCore, timeoutMs = 60_000): Promise<void> {
  const want = lab.state.clusters.map((c) => c.spec.id);
  const end = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < end) {
    try {
      if (lab.state.gatewayMode === "active-active") {
        const missing = missingPairs(runningGateways(lab), await gatewayConnections(lab));
        if (!missing.length) return;
        last = missing.join(", ");
        await new Promise((r) => setTimeout(r, 200));
        continue;
      }
      const conns = await connections(lab);
      const missing: string[] = [];
      for (const id of want) {
        for (const other of want) {
          if (other === id) continue;
          const c = conns.get(id)?.find((x) => x.endpoint.cluster_id === other);
          // What the gateway says of a missing cable goes into the error: a failing run tells why.
          if (c?.status !== "connected") missing.push(c ? `${id}→${other} (${c.status}${c.statusMessage ? `: ${c.statusMessage}` : ""})` : `${id}→${other}`);
        }
      }
      if (!missing.length) return;
      last = missing.join(", ");
    } catch (err) {
      last = String(err);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new LabError(`cables not connected after ${timeoutMs} ms: ${last}`);
}

/** Every process the lab started: brokers, NATS nodes, each cluster's components and pods. */
export function processStatus(lab: LabCore): { cluster: string; role: string; pid: number; alive: boolean }[] {
  const b = lab.state.broker;
  const brokers = b.ha ? b.ha.replicas.flatMap((r) => (r.process ? [r.process] : [])) : b.process ? [b.process] : [];
  const rows = brokers.map((p) => ({ cluster: "-", role: p.role, pid: p.pid, alive: alive(p.pid) }));
  for (const n of b.ha?.nats ?? []) if (n.pid) rows.push({ cluster: "-", role: `nats/${n.name}`, pid: n.pid, alive: alive(n.pid) });
  for (const c of lab.state.clusters) for (const p of c.processes) rows.push({ cluster: c.spec.id, role: p.role, pid: p.pid, alive: alive(p.pid) });
  return rows;
}
