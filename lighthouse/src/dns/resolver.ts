import type { ClusterBackend, DnsSource, ImportedService, ServiceEndpoint, ServicePort } from "./model.ts";

export type Rcode = "NOERROR" | "FORMERR" | "SERVFAIL" | "NXDOMAIN" | "NOTIMP" | "REFUSED";

export interface Soa {
  readonly mname: string;
  readonly rname: string;
  readonly serial: number;
  readonly refresh: number;
  readonly retry: number;
  readonly expire: number;
  readonly minimum: number;
}
export interface Srv {
  readonly priority: number;
  readonly weight: number;
  readonly port: number;
  readonly target: string;
}

/** A resource record of the kinds this server answers with. */
export type Rr =
  | { readonly name: string; readonly type: "A" | "AAAA" | "PTR"; readonly ttl: number; readonly data: string }
  | { readonly name: string; readonly type: "SRV"; readonly ttl: number; readonly data: Srv }
  | { readonly name: string; readonly type: "TXT"; readonly ttl: number; readonly data: readonly string[] }
  | { readonly name: string; readonly type: "SOA"; readonly ttl: number; readonly data: Soa };

export interface Answer {
  readonly rcode: Rcode;
  /** Set for names in our zones (and reverse names we answer). */
  readonly authoritative: boolean;
  readonly answers: readonly Rr[];
  /** The zone's SOA on negative answers (NXDOMAIN, NODATA), for negative caching. */
  readonly authority: readonly Rr[];
  /** Set when the answer rotates between queries (round-robin over clusters): never cached. */
  readonly varies?: boolean;
}

export interface ResolverOptions {
  /** Zones answered for; the MCS zone first. Default ["clusterset.local"]. */
  readonly zones?: readonly string[];
  /** TTL of every record, seconds (Submariner's default 5). */
  readonly ttl?: number;
}

/** The MCS DNS specification's version, answered at `dns-version.<zone>` (TXT). */
export const DNS_SCHEMA_VERSION = "1.0.0";
const MAX_NAME = 253;
const MAX_LABEL = 63;

/** What a query names inside `<ns>.svc.<zone>`. */
interface Target {
  readonly zone: string;
  readonly namespace: string;
  readonly service: string;
  readonly cluster?: string;
  readonly host?: string;
  /** `_<port>._<proto>` of an SRV query. */
  readonly port?: { readonly name: string; readonly protocol: string };
}

const fqdn = (...labels: readonly string[]) => labels.join(".");

/** Pure: the label of an endpoint (its hostname, or its IP with dashes). */
export function hostLabel(e: ServiceEndpoint): string {
  return e.hostname ?? e.ip.replaceAll(".", "-").replaceAll(":", "-");
}

/**
 * Answers clusterset DNS queries (MCS DNS specification 1.0.0, with Submariner's
 * `<cluster>.` and `<host>.<cluster>.` forms and its record selection, reference §8.2): a
 * ClusterSetIP service resolves to the local cluster's IP while the local cluster has ready
 * endpoints, otherwise round-robin over the clusters that are connected and ready; headless
 * services to their ready endpoints. Unknown names are NXDOMAIN, known names without records
 * of the type NODATA (NOERROR, empty, SOA in authority).
 */
export class Resolver {
  readonly #src: DnsSource;
  readonly #zones: readonly string[];
  readonly #ttl: number;
  readonly #next = new Map<string, number>();
  /** Whether the answer being built picked among several clusters. */
  #varied = false;

  constructor(src: DnsSource, o: ResolverOptions = {}) {
    this.#src = src;
    this.#zones = (o.zones ?? ["clusterset.local"]).map((z) => z.toLowerCase().replace(/\.$/, ""));
    this.#ttl = o.ttl ?? 5;
    if (!Number.isInteger(this.#ttl) || this.#ttl < 0 || this.#ttl > 3600) throw new RangeError(`DNS TTL must be 0..3600 seconds, got ${o.ttl}`);
  }

  resolve(q: { readonly name: string; readonly type: string }): Answer {
    this.#varied = false;
    const answer = this.#resolve(q);
    return this.#varied ? { ...answer, varies: true } : answer;
  }

  /** The source's version (see DnsSource.version): answers not marked `varies` stay the same until it changes. */
  version(): number | undefined {
    return this.#src.version?.();
  }

  #resolve(q: { readonly name: string; readonly type: string }): Answer {
    const name = q.name.toLowerCase().replace(/\.$/, "");
    const zone = this.#zones.filter((z) => name === z || name.endsWith(`.${z}`)).sort((a, b) => b.length - a.length)[0];
    if (zone === undefined) return name.endsWith(".in-addr.arpa") && q.type === "PTR" ? this.#reverse(name) : refused();
    if (name.length > MAX_NAME || name.split(".").some((l) => l.length === 0 || l.length > MAX_LABEL)) return this.#negative(zone, "NXDOMAIN");
    const rel = name === zone ? [] : name.slice(0, -(zone.length + 1)).split(".");
    if (rel.length === 0) return q.type === "SOA" ? this.#ok([this.#soa(zone)]) : this.#negative(zone, "NOERROR");
    if (rel.length === 1 && rel[0] === "dns-version") {
      return q.type === "TXT" ? this.#ok([{ name, type: "TXT", ttl: this.#ttl, data: [DNS_SCHEMA_VERSION] }]) : this.#negative(zone, "NOERROR");
    }
    const t = parseTarget(rel, zone);
    return t ? this.#service(name, q.type, t) : this.#negative(zone, "NXDOMAIN");
  }

  /** A name of a service (`[_port._proto.][host.][cluster.]svc.ns.svc.<zone>`). */
  #service(name: string, type: string, t: Target): Answer {
    const svc = this.#src.service(t.namespace, t.service);
    if (!svc) return this.#negative(t.zone, "NXDOMAIN");
    const backend = t.cluster === undefined ? undefined : svc.clusters.find((c) => c.clusterId === t.cluster);
    if (t.cluster !== undefined && !backend) return this.#negative(t.zone, "NXDOMAIN");
    if (t.host !== undefined && (svc.type !== "Headless" || !backend?.endpoints.some((e) => hostLabel(e) === t.host)))
      return this.#negative(t.zone, "NXDOMAIN");
    if (t.port && type !== "SRV") return this.#negative(t.zone, "NOERROR");
    const answers = type === "A" ? this.#a(name, svc, t, backend) : type === "SRV" ? this.#srv(name, svc, t, backend) : [];
    return answers.length ? this.#ok(answers) : this.#negative(t.zone, "NOERROR");
  }

  /** NXDOMAIN, or NODATA (NOERROR without answers), with the zone's SOA for negative caching. */
  #negative(zone: string, rcode: "NXDOMAIN" | "NOERROR"): Answer {
    return { rcode, authoritative: true, answers: [], authority: [this.#soa(zone)] };
  }

  #ok(answers: readonly Rr[]): Answer {
    return { rcode: "NOERROR", authoritative: true, answers, authority: [] };
  }

  #soa(zone: string): Rr {
    const data: Soa = { mname: `ns.dns.${zone}`, rname: `hostmaster.${zone}`, serial: 1, refresh: 7200, retry: 1800, expire: 86400, minimum: this.#ttl };
    return { name: zone, type: "SOA", ttl: this.#ttl, data };
  }

  /** Clusters whose endpoints may be answered: connected, with a ready endpoint. */
  #eligible(svc: ImportedService): ClusterBackend[] {
    return svc.clusters.filter((c) => this.#src.connected(c.clusterId) && c.endpoints.some((e) => e.ready));
  }

  /** ClusterSetIP: the one cluster to answer with (local first, then round-robin); undefined when none may be. */
  #pick(svc: ImportedService): ClusterBackend | undefined {
    const eligible = this.#eligible(svc).filter((c) => c.ip);
    const local = eligible.find((c) => c.clusterId === this.#src.localCluster);
    if (local) return local;
    if (!eligible.length) return undefined;
    if (eligible.length > 1) this.#varied = true;
    eligible.sort((a, b) => a.clusterId.localeCompare(b.clusterId));
    const key = `${svc.namespace}/${svc.name}`;
    const i = (this.#next.get(key) ?? 0) % eligible.length;
    this.#next.set(key, i + 1);
    return eligible[i];
  }

  #a(name: string, svc: ImportedService, t: Target, backend: ClusterBackend | undefined): Rr[] {
    const a = (ip: string): Rr => ({ name, type: "A", ttl: this.#ttl, data: ip });
    if (svc.type === "Headless") return this.#headless(svc, t, backend).map(({ e }) => a(e.ip));
    if (backend) return backend.ip ? [a(backend.ip)] : []; // a named cluster is answered even when unhealthy
    if (svc.ips?.length) return svc.ips.map(a);
    const c = this.#pick(svc);
    return c?.ip ? [a(c.ip)] : [];
  }

  /** Headless: ready endpoints of the named cluster (and host), or of every connected cluster. */
  #headless(svc: ImportedService, t: Target, backend: ClusterBackend | undefined): { c: ClusterBackend; e: ServiceEndpoint }[] {
    const scope = backend ? [backend] : svc.clusters.filter((c) => this.#src.connected(c.clusterId));
    return scope.flatMap((c) => c.endpoints.filter((e) => e.ready && (t.host === undefined || hostLabel(e) === t.host)).map((e) => ({ c, e })));
  }

  #srv(name: string, svc: ImportedService, t: Target, backend: ClusterBackend | undefined): Rr[] {
    const want = (p: ServicePort) => !t.port || (p.name?.toLowerCase() === t.port.name && p.protocol.toLowerCase() === t.port.protocol);
    const srv = (port: number, target: string): Rr => ({ name, type: "SRV", ttl: this.#ttl, data: { priority: 0, weight: 50, port, target } });
    const base = fqdn(t.service, t.namespace, "svc", t.zone);
    if (svc.type === "Headless") {
      return this.#headless(svc, t, backend).flatMap(({ c, e }) => c.ports.filter(want).map((p) => srv(p.port, fqdn(hostLabel(e), c.clusterId, base))));
    }
    // A clusterset IP serves the import's ports whichever clusters' endpoints are ready (MCS DNS: one record per port, to the service name).
    if (!backend && svc.ips?.length) return (svc.ports ?? []).filter(want).map((p) => srv(p.port, base));
    const clusters = backend ? [backend] : this.#eligible(svc);
    if (!clusters.length) return [];
    // Ports every answering cluster serves (the same port may differ in name or protocol elsewhere).
    const ports = (clusters[0]?.ports ?? []).filter((p) => clusters.every((c) => c.ports.some((x) => x.port === p.port && x.protocol === p.protocol)));
    const target = backend ? fqdn(backend.clusterId, base) : base;
    return ports.filter(want).map((p) => srv(p.port, target));
  }

  /** PTR for an address a service or endpoint of ours has; REFUSED for the rest (not our data). */
  #reverse(name: string): Answer {
    const octets = name.slice(0, -".in-addr.arpa".length).split(".").reverse();
    const ip = octets.join(".");
    const zone = this.#zones[0] ?? "clusterset.local";
    const names: string[] = [];
    for (const s of this.#src.services()) {
      const base = fqdn(s.name, s.namespace, "svc", zone);
      if (s.ips?.includes(ip)) names.push(base);
      for (const c of s.clusters) {
        if (s.type === "ClusterSetIP" && c.ip === ip) names.push(fqdn(c.clusterId, base));
        if (s.type === "Headless") for (const e of c.endpoints) if (e.ip === ip) names.push(fqdn(hostLabel(e), c.clusterId, base));
      }
    }
    if (!names.length) return refused();
    return { rcode: "NOERROR", authoritative: true, answers: [...new Set(names)].map((n) => ({ name, type: "PTR", ttl: this.#ttl, data: n })), authority: [] };
  }
}

function refused(): Answer {
  return { rcode: "REFUSED", authoritative: false, answers: [], authority: [] };
}

/** Pure: `[_port._proto.][host.][cluster.]svc-name.namespace.svc` (labels before the zone) as a target; undefined when it is none of those forms. */
function parseTarget(rel: readonly string[], zone: string): Target | undefined {
  if (rel.at(-1) !== "svc") return undefined;
  let labels = rel.slice(0, -1);
  let port: Target["port"];
  const [p, proto] = labels;
  if (p?.startsWith("_") && proto?.startsWith("_")) {
    port = { name: p.slice(1), protocol: proto.slice(1) };
    labels = labels.slice(2);
  }
  const [namespace, service, cluster, host] = [...labels].reverse();
  if (!namespace || !service || labels.length > 4 || (port && labels.length > 3)) return undefined;
  return { zone, namespace, service, ...(cluster ? { cluster } : {}), ...(host ? { host } : {}), ...(port ? { port } : {}) };
}
