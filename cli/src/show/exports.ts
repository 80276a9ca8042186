import { type ServiceExport, type WireRecord } from "@causeway/api";
import { renderTable } from "./table.ts";

/** One cluster's export as `show exports` lists it. */
export interface ExportRow {
  readonly cluster: string;
  readonly value: ServiceExport;
}

/** Pure: the export records among `records`, by namespace, name and cluster. */
export function exportRows(records: readonly WireRecord[]): ExportRow[] {
  return records
    .filter((r) => r.kind === "export")
    .map((r) => ({ cluster: r.clusterId, value: JSON.parse(r.valueJson) as ServiceExport }))
    .sort((a, b) => `${a.value.namespace}/${a.value.name}/${a.cluster}`.localeCompare(`${b.value.namespace}/${b.value.name}/${b.cluster}`));
}

/**
 * Pure: `show exports` — each cluster's export with its addresses: the Service's IP in its own
 * cluster, the clusterset IP, and under globalnet the global IP other clusters reach it at (a
 * headless export: its ready endpoints' global IPs).
 */
export function renderExports(rows: readonly ExportRow[]): string {
  if (!rows.length) return "No exports found";
  return renderTable(
    [
      { header: "NAMESPACE", max: 24 },
      { header: "NAME", max: 30 },
      { header: "CLUSTER", max: 24 },
      { header: "TYPE" },
      { header: "IP" },
      { header: "CLUSTERSET IP" },
      { header: "GLOBAL IP", max: 40 },
      { header: "READY" },
    ],
    rows.map(({ cluster, value: v }) => [
      v.namespace,
      v.name,
      cluster,
      v.type,
      v.ip || "-",
      v.clustersetIp ?? "-",
      globalIpsOf(v).join(", ") || "-",
      v.unavailable ? "unavailable" : `${v.endpoints.filter((e) => e.ready).length}/${v.endpoints.length}`,
    ]),
  );
}

/** Pure: an export's global IPs (its own, or its headless endpoints'). */
export function globalIpsOf(v: ServiceExport): string[] {
  return v.globalIp ? [v.globalIp] : v.endpoints.flatMap((e) => (e.globalIp ? [e.globalIp] : []));
}

/** Structured output of `show exports -o json|yaml`. */
export function exportsData(rows: readonly ExportRow[]) {
  return { exports: rows.map(({ cluster, value }) => ({ cluster, ...value })) };
}
