import { allocateIp, type ServiceExport } from "@causeway/api";
import { byAge, type ExportRecord } from "@causeway/common";

/**
 * Pure: the clusterset IP this cluster's export `record` of a ClusterSetIP service carries
 * (MCS `ServiceImport.spec.ips`), given every cluster's exports at the broker (`all`, this
 * cluster's included) and this cluster's block. Stable by construction:
 * - the oldest other export of the name, of the same type, that holds an IP and is older than
 *   ours gives it (an import's address is its oldest export's, so every exporter converges on it
 *   and the address survives the oldest leaving);
 * - else the address our export already holds, while no other service holds it;
 * - else a free address of our block (none another export holds), searched from a place derived
 *   from the name, so a service exported again tends to get its old address back.
 * Empty for a headless export, or when the block is full or missing.
 */
export function clustersetIpFor(clusterId: string, record: ServiceExport, all: readonly ExportRecord[], block: string | undefined): string {
  if (record.type !== "ClusterSetIP") return "";
  const key = `${record.namespace}/${record.name}`;
  const same = (e: ExportRecord) => e.value.namespace === record.namespace && e.value.name === record.name;
  const mine: ExportRecord = { clusterId, value: record };
  const older = all
    .filter((e) => e.clusterId !== clusterId && same(e) && !e.value.unavailable && e.value.type === "ClusterSetIP" && e.value.clustersetIp)
    .filter((e) => byAge(e, mine) < 0)
    .sort(byAge)[0];
  if (older?.value.clustersetIp) return older.value.clustersetIp;
  const takenByOthers = new Set(all.filter((e) => !same(e) && e.value.clustersetIp).map((e) => e.value.clustersetIp ?? ""));
  const held = all.find((e) => e.clusterId === clusterId && same(e))?.value.clustersetIp ?? record.clustersetIp;
  if (held && !takenByOthers.has(held)) return held;
  if (!block) return "";
  return allocateIp(block, key, takenByOthers) ?? "";
}

/** Pure: `record` with the clusterset IP it carries (see clustersetIpFor); none for a headless one. */
export function withClustersetIp(clusterId: string, record: ServiceExport, all: readonly ExportRecord[], block: string | undefined): ServiceExport {
  const ip = clustersetIpFor(clusterId, record, all, block);
  const { clustersetIp: _drop, ...rest } = record;
  return ip ? { ...rest, clustersetIp: ip } : rest;
}
