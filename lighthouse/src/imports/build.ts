import type { ServiceExport } from "@causeway/api";
import type { ImportedService } from "../dns/model.ts";

/** One cluster's export of a service, as the broker holds it. */
export interface ExportRecord {
  readonly clusterId: string;
  readonly value: ServiceExport;
}

/** An export left out of its service's import, and why (MCS: reported as a Conflict condition on the ServiceExport). */
export interface ExportConflict {
  readonly namespace: string;
  readonly name: string;
  readonly clusterId: string;
  readonly reason: string;
}

/** Oldest first (MCS: the oldest export wins a conflict); the cluster id breaks ties. */
export const byAge = (a: ExportRecord, b: ExportRecord) => a.value.exportedAt.localeCompare(b.value.exportedAt) || a.clusterId.localeCompare(b.clusterId);

/**
 * Pure: the exports of each service by `namespace/name`, oldest first; exports of a service that
 * does not exist yet (exported before it) are left out — there is nothing to import.
 */
export function exportsByService(exports: readonly ExportRecord[]): Map<string, ExportRecord[]> {
  const out = new Map<string, ExportRecord[]>();
  for (const e of exports) {
    if (e.value.unavailable) continue;
    const key = `${e.value.namespace}/${e.value.name}`;
    out.set(key, [...(out.get(key) ?? []), e]);
  }
  for (const list of out.values()) list.sort(byAge);
  return out;
}

/**
 * Pure: the services every cluster imports, from all clusters' exports (MCS rules, reference
 * mcs-api §0.2): one import per namespace/name; its type is the oldest export's, and exports of
 * another type are left out as conflicts; each exporting cluster keeps its own IP, ports and
 * endpoints (the DNS server picks among them). Exports whose service does not exist yet are left out.
 * With `clustersetIps`, a ClusterSetIP import carries the oldest export's clusterset IP (what DNS
 * then answers); without, DNS answers the chosen cluster's own service IP (Submariner's way).
 */
export function buildImports(exports: readonly ExportRecord[], clustersetIps = false): { services: ImportedService[]; conflicts: ExportConflict[] } {
  const services: ImportedService[] = [];
  const conflicts: ExportConflict[] = [];
  for (const sorted of exportsByService(exports).values()) {
    const oldest = sorted[0];
    if (!oldest) continue;
    const { namespace, name, type } = oldest.value;
    const members = sorted.filter((e) => e.value.type === type);
    for (const e of sorted.filter((x) => x.value.type !== type)) {
      conflicts.push({
        namespace,
        name,
        clusterId: e.clusterId,
        reason: `exported as ${e.value.type}; the oldest export (cluster ${oldest.clusterId}) is ${type}`,
      });
    }
    const ips = clustersetIps && type === "ClusterSetIP" && oldest.value.clustersetIp ? [oldest.value.clustersetIp] : undefined;
    services.push({
      namespace,
      name,
      type,
      ...(ips ? { ips, ports: mergePorts(members).ports } : {}),
      clusters: members.map((e) => ({
        clusterId: e.clusterId,
        ...(e.value.ip ? { ip: e.value.ip } : {}),
        ports: e.value.ports.map((p) => ({ protocol: p.protocol, port: p.port, ...(p.name ? { name: p.name } : {}) })),
        endpoints: e.value.endpoints,
      })),
    });
  }
  return { services, conflicts };
}

export interface MergedPort {
  readonly name?: string;
  readonly protocol: ServiceExport["ports"][number]["protocol"];
  readonly port: number;
}

/**
 * Pure: the ports of an import (MCS: the union of the exports' ports; a port name (or an
 * unnamed port's number and protocol) taken with another number or protocol is a conflict the
 * oldest export wins), and the clusters whose ports conflicted.
 */
export function mergePorts(members: readonly ExportRecord[]): { ports: MergedPort[]; conflicting: Set<string> } {
  const byKey = new Map<string, MergedPort>();
  const conflicting = new Set<string>();
  const sorted = [...members].sort(byAge);
  for (const m of sorted) {
    for (const p of m.value.ports) {
      const key = p.name ?? `${p.protocol}/${p.port}`;
      const had = byKey.get(key);
      if (!had) byKey.set(key, { ...(p.name ? { name: p.name } : {}), protocol: p.protocol, port: p.port });
      else if (had.port !== p.port || had.protocol !== p.protocol) conflicting.add(m.clusterId);
    }
  }
  return { ports: [...byKey.values()], conflicting };
}
