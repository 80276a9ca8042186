import { allocateGlobalIp, isGlobalIngressIp, type ServiceExport } from "@causeway/api";
import { heldGlobalIps } from "@causeway/common";

/**
 * Pure, globalnet: `record` with the global addresses other clusters reach it at, from this
 * cluster's global CIDR — a ClusterSetIP export one global ingress IP, a headless export one per
 * ready endpoint (an endpoint that is not ready gives its address back). An address the export
 * held before (`previous`, the record at the broker) is kept while it is still this cluster's and
 * no other export holds it; otherwise a free one is taken, searched from a place derived from the
 * service (and endpoint), so an export made again tends to get its old address back, never one
 * another service gave back less than `quarantine`'s time ago. `others`: this cluster's other
 * exports. Without a global CIDR (no globalnet) every global IP is dropped.
 */
export function withGlobalIps(
  record: ServiceExport,
  previous: ServiceExport | undefined,
  others: readonly ServiceExport[],
  globalCidr: string | undefined,
  quarantine?: Pick<GlobalIpQuarantine, "blocks">,
): ServiceExport {
  const held = heldGlobalIps(others);
  return globalIpsFor(record, previous, (ip) => held.has(ip), globalCidr, quarantine);
}

/** withGlobalIps with the other exports' addresses as a test (`takenByOthers`). */
export function globalIpsFor(
  record: ServiceExport,
  previous: ServiceExport | undefined,
  takenByOthers: (ip: string) => boolean,
  globalCidr: string | undefined,
  quarantine?: Pick<GlobalIpQuarantine, "blocks">,
): ServiceExport {
  const { globalIp: _drop, ...base } = record;
  const plainEndpoints = record.endpoints.map(({ globalIp: _g, ...x }) => x);
  if (!globalCidr || record.unavailable) return { ...base, endpoints: plainEndpoints };
  // What this export took in this call: two of its endpoints never share one.
  const mine = new Set<string>();
  const taken = (ip: string) => takenByOthers(ip) || mine.has(ip);
  const key = `${record.namespace}/${record.name}`;
  const pick = (held: string | undefined, k: string): string | undefined => {
    const free = { has: (x: string) => taken(x) || quarantine?.blocks(x, k) === true };
    const ip = held && isGlobalIngressIp(globalCidr, held) && !taken(held) ? held : allocateGlobalIp(globalCidr, k, free);
    if (ip) mine.add(ip);
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
    if (x.ready && held && isGlobalIngressIp(globalCidr, held) && !taken(held)) {
      keep.add(x.ip);
      mine.add(held);
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
  quarantine?: Pick<GlobalIpQuarantine, "blocks">,
): Map<string, ServiceExport> {
  const held = new HeldGlobalIps(atBroker.values());
  const done = new Map<string, ServiceExport>();
  for (const [name, record] of records) {
    const own = atBroker.get(name);
    done.set(
      name,
      held.reassign(own, (taken) => globalIpsFor(record, own, taken, globalCidr, quarantine)),
    );
  }
  return done;
}

/**
 * The global addresses a cluster's exports hold, each export in its newest version (given in this
 * pass, else as the broker has it), counted: an export's allocation tests "held by another" in one
 * lookup instead of scanning every export (1,000 exports: ~10 ms a pass, was ~150 ms).
 */
export class HeldGlobalIps {
  readonly #count = new Map<string, number>();

  constructor(exports: Iterable<ServiceExport>) {
    for (const e of exports) this.#tally(e, 1);
  }

  #tally(e: ServiceExport | undefined, d: number): void {
    for (const ip of heldGlobalIps(e ? [e] : [])) this.#count.set(ip, (this.#count.get(ip) ?? 0) + d);
  }

  /** `make` gives the export's next version, told which addresses the others hold; `was` (its version counted so far) is replaced by it. */
  reassign(was: ServiceExport | undefined, make: (takenByOthers: (ip: string) => boolean) => ServiceExport): ServiceExport {
    this.#tally(was, -1);
    const next = make((ip) => (this.#count.get(ip) ?? 0) > 0);
    this.#tally(next, 1);
    return next;
  }
}

/** Pure: the global addresses `exports` hold, with the key each was allocated for (a ClusterSetIP export's `ns/name`, a headless endpoint's `ns/name/ip`). */
function holders(exports: readonly ServiceExport[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of exports) {
    const key = `${e.namespace}/${e.name}`;
    if (e.globalIp) out.set(e.globalIp, key);
    for (const x of e.endpoints) if (x.globalIp) out.set(x.globalIp, `${key}/${x.ip}`);
  }
  return out;
}

/**
 * Global addresses this cluster's exports gave back, held back from other services for a while
 * (default 30 s: CoreDNS's cache plugin keeps an answer up to 30 s, six of our DNS TTLs), so a
 * client still holding one — a cached answer, a connection being retried — never reaches another
 * service there. The service (or endpoint) that had it may take it back at once. Kept in memory:
 * a restarted lighthouse holds nothing back.
 */
export class GlobalIpQuarantine {
  readonly #ms: number;
  readonly #now: () => number;
  #seen = new Map<string, string>();
  readonly #held = new Map<string, { key: string; until: number }>();

  constructor(ms = 30_000, now: () => number = Date.now) {
    this.#ms = ms;
    this.#now = now;
  }

  /** Takes what this cluster's exports hold now: an address held at the last look and not now is held back from then on. */
  see(exports: readonly ServiceExport[]): void {
    const now = holders(exports);
    const t = this.#now();
    for (const [ip, key] of this.#seen) if (!now.has(ip)) this.#held.set(ip, { key, until: t + this.#ms });
    for (const [ip, h] of this.#held) if (now.has(ip) || h.until <= t) this.#held.delete(ip);
    this.#seen = now;
  }

  /** Whether a fresh allocation for `key` must pass `ip` by. */
  blocks(ip: string, key: string): boolean {
    const h = this.#held.get(ip);
    return h !== undefined && h.key !== key && h.until > this.#now();
  }

  /** The addresses held back now (for logs and tests). */
  held(): string[] {
    const t = this.#now();
    return [...this.#held].filter(([, h]) => h.until > t).map(([ip]) => ip);
  }
}
