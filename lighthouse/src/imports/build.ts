import { type ExportRecord, exportsByService, mergePorts } from "@causeway/common";
import type { ImportedService } from "../dns/model.ts";

/** An export left out of its service's import, and why (MCS: reported as a Conflict condition on the ServiceExport). */
export interface ExportConflict {
  readonly namespace: string;
  readonly name: string;
  readonly clusterId: string;
  readonly reason: string;
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
