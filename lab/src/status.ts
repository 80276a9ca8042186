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

/** Waits until every cluster's gateway reports a connected cable to every other cluster; LabError naming what each missing cable's gateway says. */
export async function waitConnected(lab: LabCore, timeoutMs = 60_000): Promise<void> {
  const want = lab.state.clusters.map((c) => c.spec.id);
  const end = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < end) {
    try {
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
