import { allocateGlobalIp, isGlobalIngressIp, type ServiceExport } from "@causeway/api";
import { heldGlobalIps } from "@causeway/common";

/**
 * Pure, globalnet: `record` with the global addresses other clusters reach it at, from this
 * cluster's global CIDR — a ClusterSetIP export one global ingress IP, a headless export one per
 * ready endpoint (an endpoint that is not ready gives its address back). An address the export
 * held before (`previous`, the record at the broker) is kept while it is still this cluster's and
 * no other export holds it; otherwise a free one is taken, searched from a place derived from the
 * service (and endpoint), so an export made again tends to get its old address back. `others`:
 * this cluster's other exports. Without a global CIDR (no globalnet) every global IP is dropped.
 */
export function withGlobalIps(
  record: ServiceExport,
  previous: ServiceExport | undefined,
  others: readonly ServiceExport[],
  globalCidr: string | undefined,
): ServiceExport {
  const { globalIp: _drop, ...base } = record;
  const plainEndpoints = record.endpoints.map(({ globalIp: _g, ...x }) => x);
  if (!globalCidr || record.unavailable) return { ...base, endpoints: plainEndpoints };
  const taken = heldGlobalIps(others);
  const key = `${record.namespace}/${record.name}`;
  const pick = (held: string | undefined, k: string): string | undefined => {
    const ip = held && isGlobalIngressIp(globalCidr, held) && !taken.has(held) ? held : allocateGlobalIp(globalCidr, k, taken);
    if (ip) taken.add(ip);
    return ip;
  };
  if (record.type === "ClusterSetIP") {
    const ip = pick(previous?.globalIp, key);
    return { ...base, endpoints: plainEndpoints, ...(ip ? { globalIp: ip } : {}) };
  }
  const had = new Map((previous?.endpoints ?? []).flatMap((x) => (x.globalIp ? [[x.ip, x.globalIp] as const] : [])));
  // Held addresses first, so a new endpoint never takes one an existing endpoint keeps.
  const keep = new Set<string>();
  for (const x of plainEndpoints) {
    const held = had.get(x.ip);
    if (x.ready && held && isGlobalIngressIp(globalCidr, held) && !taken.has(held)) {
      keep.add(x.ip);
      taken.add(held);
    }
  }
  const endpoints = plainEndpoints.map((x) => {
    if (!x.ready) return x;
    const ip = keep.has(x.ip) ? had.get(x.ip) : pick(undefined, `${key}/${x.ip}`);
    return ip ? { ...x, globalIp: ip } : x;
  });
  return { ...base, endpoints };
}

/**
 * Pure, globalnet: global addresses for this cluster's `records` (keyed by export name), one after
 * the other so that two new exports of one pass never take the same address: each sees the
 * others' addresses at the broker (`atBroker`) and those given before it in this pass.
 */
export function assignGlobalIps(
  records: ReadonlyMap<string, ServiceExport>,
  atBroker: ReadonlyMap<string, ServiceExport>,
  globalCidr: string | undefined,
): Map<string, ServiceExport> {
  const done = new Map<string, ServiceExport>();
  for (const [name, record] of records) {
    const others = [...new Set([...atBroker.keys(), ...done.keys()])].filter((n) => n !== name).flatMap((n) => done.get(n) ?? atBroker.get(n) ?? []);
    done.set(name, withGlobalIps(record, atBroker.get(name), others, globalCidr));
  }
  return done;
}
