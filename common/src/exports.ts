import { type ServiceExport, unavailableExport as placeholderExport } from "@causeway/api";
import type { SiteService } from "./site.ts";

/** Pure: the export record of a site service, its endpoints' readiness from `ready`. */
export function exportOf(svc: SiteService, ready: (ip: string) => boolean, exportedAt: string): ServiceExport {
  return {
    namespace: svc.namespace,
    name: svc.name,
    type: svc.type,
    ip: svc.type === "ClusterSetIP" ? (svc.ip ?? "") : "",
    ports: svc.ports.map((p) => ({
      protocol: p.protocol,
      port: p.port,
      ...(p.name ? { name: p.name } : {}),
      ...(p.targetPort ? { targetPort: p.targetPort } : {}),
    })),
    endpoints: svc.endpoints.map((e) => ({ ip: e.ip, ready: ready(e.ip), ...(e.hostname ? { hostname: e.hostname } : {}) })),
    exportedAt,
  };
}

/** Pure: the export of a service that does not exist (yet): kept, with its creation time, but imported nowhere. */
export function unlistedExport(e: Pick<ServiceExport, "namespace" | "name" | "type" | "exportedAt">): ServiceExport {
  return placeholderExport(e, `service ${e.namespace}/${e.name} is not in the site file; it is exported once added`);
}

/** One cluster's export of a service, as the broker holds it. */
export interface ExportRecord {
  readonly clusterId: string;
  readonly value: ServiceExport;
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
