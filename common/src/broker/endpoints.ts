import type { Endpoint } from "@causeway/api";
import type { CachedRecord } from "./watcher.ts";

/** Newest endpoint per cluster (by creation revision): a stale one never wins over its successor. */
export function newestPerCluster(records: readonly CachedRecord<"endpoint">[]): Map<string, Endpoint> {
  const best = new Map<string, CachedRecord<"endpoint">>();
  for (const r of records) {
    const cur = best.get(r.clusterId);
    if (!cur || r.createRevision > cur.createRevision) best.set(r.clusterId, r);
  }
  return new Map([...best].map(([k, v]) => [k, v.value]));
}
