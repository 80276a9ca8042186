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

/**
 * Pure, globalnet: a remote cluster's export as this cluster may use it — only its global
 * addresses (its own may be this cluster's too). A ClusterSetIP export becomes its global ingress
 * IP, one endpoint there (ready while any endpoint is) reached on the service ports (the exporting
 * gateway translates to the target ports); a headless export keeps the endpoints that have a
 * global IP, at that IP. Without a global IP yet, nothing is usable: no address, no endpoints.
 */
export function globalView(e: ExportRecord): ExportRecord {
  const v = e.value;
  if (v.type === "Headless") {
    const endpoints = v.endpoints.flatMap((x) => (x.globalIp ? [{ ip: x.globalIp, ready: x.ready, ...(x.hostname ? { hostname: x.hostname } : {}) }] : []));
    return { clusterId: e.clusterId, value: { ...v, endpoints } };
  }
  const { globalIp, ...rest } = v;
  const ports = v.ports.map(({ targetPort: _t, ...p }) => p);
  const value: ServiceExport = {
    ...rest,
    ip: globalIp ?? "",
    ports,
    endpoints: globalIp ? [{ ip: globalIp, ready: v.endpoints.some((x) => x.ready) }] : [],
  };
  return { clusterId: e.clusterId, value };
}

/** Pure: every export as `localCluster` may use it — remote ones by their global addresses when the clusterset runs globalnet. */
export function usableExports(exports: readonly ExportRecord[], localCluster: string, globalnet: boolean): ExportRecord[] {
  return globalnet ? exports.map((e) => (e.clusterId === localCluster ? e : globalView(e))) : [...exports];
}

/** Pure: every global IP `exports` hold (a ClusterSetIP export's and its headless endpoints'). */
export function heldGlobalIps(exports: readonly ServiceExport[]): Set<string> {
  const out = new Set<string>();
  for (const e of exports) {
    if (e.globalIp) out.add(e.globalIp);
    for (const x of e.endpoints) if (x.globalIp) out.add(x.globalIp);
  }
  return out;
}
