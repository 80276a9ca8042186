/**
 * The dashboard's state (issue 24), pure: what the page draws, built from the broker's records —
 * the same records `show` reads — and the events between two states. The page receives these
 * objects as JSON; every string in them is data to be shown as text.
 */
import {
  type Cluster,
  type Endpoint,
  gatewayModeOf,
  type GatewayStatus,
  type GatewayTraffic,
  parseValue,
  type ServiceExport,
  type WireRecord,
} from "@causeway/api";

/** A gateway's state on the page: active or passive by its own status; down when its status is older than the stale age, or it has an Endpoint and no status. */
export type GatewayState = "active" | "passive" | "down";

export interface DashGateway {
  readonly node: string;
  readonly state: GatewayState;
  /** Its Endpoint's cable name, when it has one. */
  readonly cable?: string;
  readonly privateIp?: string;
  readonly publicIp?: string;
  readonly driver?: string;
  readonly mode?: "active-active" | "active-passive";
  readonly traffic?: GatewayTraffic;
  readonly updatedAt?: string;
}

export interface DashCluster {
  readonly id: string;
  readonly podCidrs: readonly string[];
  readonly serviceCidrs: readonly string[];
  readonly globalCidrs: readonly string[];
  readonly gateways: readonly DashGateway[];
}

/** One cable as its local gateway reports it (each side reports its own). */
export interface DashCable {
  /** `<cluster>/<node>→<cluster>/<node>`: stable across states. */
  readonly id: string;
  readonly from: { readonly cluster: string; readonly node: string };
  readonly to: { readonly cluster: string; readonly node: string };
  readonly driver: string;
  readonly status: "connected" | "connecting" | "error" | "none";
  readonly message: string;
  /** The average round trip, in ms, when probes measured one. */
  readonly rttMs?: number;
  readonly usingIp: string;
  readonly nat: boolean;
}

export interface DashExporter {
  readonly cluster: string;
  readonly ready: number;
  readonly endpoints: number;
  readonly exportedAt: string;
  /** Why this export is imported nowhere (its service is missing), when so. */
  readonly unavailable?: string;
}

export interface DashService {
  /** `<namespace>/<name>`. */
  readonly id: string;
  readonly namespace: string;
  readonly name: string;
  readonly type: "ClusterSetIP" | "Headless";
  readonly clustersetIp?: string;
  readonly exporters: readonly DashExporter[];
  /** The clusters with ready endpoints: those a client anywhere may be answered by (local first where its own cluster is one). */
  readonly answering: readonly string[];
  /**
   * For each cluster of the clusterset, who answers its clients (lighthouse's rule): its own
   * ready endpoints first (`local`); else every cluster with ready ones that its gateway reports
   * connected — `failed over` when it exports the service itself, `remote` when it does not;
   * `none` when nobody can.
   */
  readonly servedTo: readonly { readonly cluster: string; readonly by: readonly string[]; readonly how: "local" | "failed over" | "remote" | "none" }[];
  /** Why the exports disagree (MCS: the oldest export's type wins), when they do. */
  readonly conflict?: string;
}

export interface DashboardState {
  readonly clusters: readonly DashCluster[];
  readonly cables: readonly DashCable[];
  readonly services: readonly DashService[];
}

/** A gateway status older than this is shown down (gateways refresh theirs every 5 s). */
export const STALE_STATUS_MS = 30_000;

/** What the state is built from: the broker's records of each kind, validated (a broker list, or a watcher's cache). */
export interface DashSource {
  readonly clusters: ReadonlyMap<string, Cluster>;
  readonly endpoints: readonly Endpoint[];
  readonly gateways: readonly { readonly cluster: string; readonly node: string; readonly status: GatewayStatus }[];
  readonly exports: readonly { readonly cluster: string; readonly e: ServiceExport }[];
}
type Parsed = DashSource;

/** Pure: a broker list's records by kind, each validated (a record that fails validation is left out, as `show` does). */
export function sourceOf(records: readonly WireRecord[]): DashSource {
  const p = {
    clusters: new Map<string, Cluster>(),
    endpoints: [] as Endpoint[],
    gateways: [] as Parsed["gateways"][number][],
    exports: [] as Parsed["exports"][number][],
  };
  for (const r of records) {
    try {
      if (r.kind === "cluster") p.clusters.set(r.clusterId, parseValue("cluster", r.valueJson));
      else if (r.kind === "endpoint") p.endpoints.push(parseValue("endpoint", r.valueJson));
      else if (r.kind === "gateway") p.gateways.push({ cluster: r.clusterId, node: r.name, status: parseValue("gateway", r.valueJson) });
      else if (r.kind === "export") p.exports.push({ cluster: r.clusterId, e: parseValue("export", r.valueJson) });
    } catch {
      // not shown
    }
  }
  return p;
}

/** Numbers in names in their order: c2 before c10. */
const natural = (a: string, b: string): number => a.localeCompare(b, "en", { numeric: true });

const rttMsOf = (average: string | undefined): number | undefined => {
  // Submariner's latency strings: a Go duration ("1.234ms", "850µs", "1.2s").
  const m = average ? /^([\d.]+)(ns|µs|us|ms|s)$/.exec(average) : null;
  if (!m) return undefined;
  const scale = { ns: 1e-6, µs: 1e-3, us: 1e-3, ms: 1, s: 1000 }[m[2] as "ns" | "µs" | "us" | "ms" | "s"];
  return Math.round(Number(m[1]) * scale * 1000) / 1000;
};

function gatewaysOf(id: string, p: Parsed, nowMs: number): DashGateway[] {
  const byNode = new Map<string, DashGateway>();
  for (const ep of p.endpoints.filter((e) => e.cluster_id === id))
    byNode.set(ep.hostname, {
      node: ep.hostname,
      state: "down",
      cable: ep.cable_name,
      privateIp: ep.private_ip,
      publicIp: ep.public_ip,
      driver: ep.backend,
      mode: gatewayModeOf(ep),
    });
  for (const g of p.gateways.filter((x) => x.cluster === id)) {
    const age = nowMs - Date.parse(g.status.updatedAt);
    const state: GatewayState = Number.isFinite(age) && age > STALE_STATUS_MS ? "down" : g.status.haStatus;
    const was = byNode.get(g.node);
    byNode.set(g.node, {
      ...was,
      node: g.node,
      state,
      ...(g.status.traffic ? { traffic: g.status.traffic } : {}),
      updatedAt: g.status.updatedAt,
    });
  }
  return [...byNode.values()].sort((a, b) => natural(a.node, b.node));
}

function cablesOf(p: Parsed): DashCable[] {
  const out: DashCable[] = [];
  for (const g of p.gateways) {
    if (g.status.haStatus !== "active") continue;
    for (const c of g.status.connections) {
      const to = { cluster: c.endpoint.cluster_id, node: c.endpoint.hostname };
      const rttMs = rttMsOf(c.latencyRTT?.average);
      out.push({
        id: `${g.cluster}/${g.node}→${to.cluster}/${to.node}`,
        from: { cluster: g.cluster, node: g.node },
        to,
        driver: c.endpoint.backend,
        status: c.status,
        message: c.statusMessage,
        ...(rttMs === undefined ? {} : { rttMs }),
        usingIp: c.usingIP,
        nat: c.usingNAT,
      });
    }
  }
  return out.sort((a, b) => natural(a.id, b.id));
}

/** Pure: each cluster's connected remote clusters, by its active gateways' connections. */
function reachOf(p: Parsed): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const g of p.gateways) {
    if (g.status.haStatus !== "active") continue;
    const set = out.get(g.cluster) ?? new Set<string>();
    for (const c of g.status.connections) if (c.status === "connected") set.add(c.endpoint.cluster_id);
    out.set(g.cluster, set);
  }
  return out;
}

/** Pure: who answers each cluster's clients for one service (see DashService.servedTo). */
function servedTo(clusters: readonly string[], exporters: readonly DashExporter[], reach: ReadonlyMap<string, ReadonlySet<string>>): DashService["servedTo"] {
  const ready = exporters.filter((x) => x.ready > 0 && !x.unavailable).map((x) => x.cluster);
  return clusters.map((cluster) => {
    if (ready.includes(cluster)) return { cluster, by: [cluster], how: "local" as const };
    const by = ready.filter((r) => reach.get(cluster)?.has(r));
    if (!by.length) return { cluster, by, how: "none" as const };
    return { cluster, by, how: exporters.some((x) => x.cluster === cluster) ? ("failed over" as const) : ("remote" as const) };
  });
}

function servicesOf(p: Parsed, clusters: readonly string[]): DashService[] {
  const reach = reachOf(p);
  const byName = new Map<string, { cluster: string; e: ServiceExport }[]>();
  for (const x of p.exports) {
    const id = `${x.e.namespace}/${x.e.name}`;
    byName.set(id, [...(byName.get(id) ?? []), x]);
  }
  return [...byName.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([id, xs]) => {
      const sorted = [...xs].sort((a, b) => a.e.exportedAt.localeCompare(b.e.exportedAt) || a.cluster.localeCompare(b.cluster));
      const oldest = sorted[0]?.e;
      const exporters = sorted.map(({ cluster, e }) => ({
        cluster,
        ready: e.endpoints.filter((x) => x.ready).length,
        endpoints: e.endpoints.length,
        exportedAt: e.exportedAt,
        ...(e.unavailable ? { unavailable: e.unavailable } : {}),
      }));
      const others = sorted.filter((x) => oldest && x.e.type !== oldest.type).map((x) => x.cluster);
      return {
        id,
        namespace: oldest?.namespace ?? "",
        name: oldest?.name ?? "",
        type: oldest?.type ?? "ClusterSetIP",
        ...(oldest?.clustersetIp ? { clustersetIp: oldest.clustersetIp } : {}),
        exporters,
        answering: exporters.filter((x) => x.ready > 0 && !x.unavailable).map((x) => x.cluster),
        servedTo: servedTo(clusters, exporters, reach),
        ...(others.length
          ? { conflict: `type: ${others.join(", ")} export${others.length > 1 ? "" : "s"} it otherwise than the oldest export (${oldest?.type})` }
          : {}),
      };
    });
}

/** Pure: the dashboard's state from the broker's records (a list, or a source), gateway statuses judged at `nowMs`. */
export function dashboardState(records: readonly WireRecord[] | DashSource, nowMs: number): DashboardState {
  const p = Array.isArray(records) ? sourceOf(records) : (records as DashSource);
  const ids = [...new Set([...p.clusters.keys(), ...p.endpoints.map((e) => e.cluster_id), ...p.gateways.map((g) => g.cluster)])].sort(natural);
  return {
    clusters: ids.map((id) => {
      const c = p.clusters.get(id);
      return {
        id,
        podCidrs: c?.cluster_cidr ?? [],
        serviceCidrs: c?.service_cidr ?? [],
        globalCidrs: c?.global_cidr ?? [],
        gateways: gatewaysOf(id, p, nowMs),
      };
    }),
    cables: cablesOf(p),
    services: servicesOf(p, ids),
  };
}

/** What changed between two states, for the page's timeline. */
export interface DashEvent {
  readonly kind: "cluster" | "gateway" | "cable" | "service";
  /** The id of what changed (a cluster id, `<cluster>/<node>`, a cable id, `<namespace>/<name>`). */
  readonly subject: string;
  readonly text: string;
}

const byId = <T>(xs: readonly T[], id: (x: T) => string): Map<string, T> => new Map(xs.map((x) => [id(x), x]));

/** Pure: the events that lead from `before` to `after`, in a stable order (clusters, gateways, cables, services). */
export function changes(before: DashboardState, after: DashboardState): DashEvent[] {
  const out: DashEvent[] = [];
  const diff = <T>(
    kind: DashEvent["kind"],
    a: readonly T[],
    b: readonly T[],
    id: (x: T) => string,
    what: (was: T | undefined, now: T | undefined) => string | undefined,
  ) => {
    const [ma, mb] = [byId(a, id), byId(b, id)];
    for (const k of [...new Set([...ma.keys(), ...mb.keys()])].sort()) {
      const text = what(ma.get(k), mb.get(k));
      if (text) out.push({ kind, subject: k, text });
    }
  };
  diff(
    "cluster",
    before.clusters,
    after.clusters,
    (c) => c.id,
    (was, now) => (!was ? "joined" : !now ? "left" : undefined),
  );
  const gws = (s: DashboardState) => s.clusters.flatMap((c) => c.gateways.map((g) => ({ ...g, key: `${c.id}/${g.node}` })));
  diff(
    "gateway",
    gws(before),
    gws(after),
    (g) => g.key,
    (was, now) => {
      if (!now) return "gone";
      if (!was) return `came, ${now.state}`;
      return was.state !== now.state ? `${was.state} → ${now.state}` : undefined;
    },
  );
  diff(
    "cable",
    before.cables,
    after.cables,
    (c) => c.id,
    (was, now) => {
      if (!now) return "removed";
      if (!was) return `${now.status}${now.message ? `: ${now.message}` : ""}`;
      return was.status !== now.status ? `${was.status} → ${now.status}${now.message ? `: ${now.message}` : ""}` : undefined;
    },
  );
  diff(
    "service",
    before.services,
    after.services,
    (s) => s.id,
    (was, now) => {
      if (!now) return "no longer exported";
      if (!was) return `exported by ${now.exporters.map((x) => x.cluster).join(", ")}`;
      const [a, b] = [was.answering.join(", "), now.answering.join(", ")];
      if (a !== b) return `answered by ${b || "no cluster"} (was ${a || "none"})`;
      const [ea, eb] = [was.exporters.map((x) => x.cluster).join(", "), now.exporters.map((x) => x.cluster).join(", ")];
      return ea !== eb ? `exported by ${eb}` : undefined;
    },
  );
  return out;
}
