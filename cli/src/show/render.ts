import { globalAddresses } from "@causeway/api";
import type { ClusterView } from "./model.ts";
import { renderTable } from "./table.ts";

import { type Section, SECTIONS } from "./sections.ts";

export { type Section, SECTIONS };

const yesNo = (b: boolean) => (b ? "yes" : "no");

/** Connections of the cluster's active gateways; with several (active-active), each row says which local gateway it is from. */
function connections(v: ClusterView): string {
  const active = v.gateways.filter((g) => g.status.haStatus === "active");
  const several = active.length > 1;
  const rows = active.flatMap((g) =>
    g.status.connections.map((c) => [
      ...(several ? [g.hostname] : []),
      c.endpoint.hostname,
      c.endpoint.cluster_id,
      c.usingIP || c.endpoint.private_ip,
      yesNo(c.usingNAT),
      c.endpoint.backend,
      c.endpoint.subnets.join(", "),
      c.status,
      c.latencyRTT?.average ?? "",
    ]),
  );
  if (!rows.length) return "No connections found";
  return renderTable(
    [
      ...(several ? [{ header: "LOCAL GATEWAY", max: 30 }] : []),
      { header: "GATEWAY", max: 30 },
      { header: "CLUSTER", max: 24 },
      { header: "REMOTE IP" },
      { header: "NAT" },
      { header: "CABLE DRIVER" },
      { header: "SUBNETS", max: 40 },
      { header: "STATUS" },
      { header: "RTT avg." },
    ],
    rows,
  );
}

function endpoints(v: ClusterView): string {
  if (!v.endpoints.length) return "No endpoints found";
  return renderTable(
    [{ header: "CLUSTER ID", max: 24 }, { header: "ENDPOINT IP" }, { header: "PUBLIC IP" }, { header: "CABLE DRIVER" }, { header: "TYPE" }],
    v.endpoints.map(({ endpoint: e, type }) => [e.cluster_id, e.private_ip, e.public_ip, e.backend, type]),
  );
}

/** Pure: a byte count for people (binary units, one decimal from KiB up). */
export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let i = 0;
  let v = n;
  // Past bytes, a figure that rounds to 1024 goes up a unit too (1023.99 KiB is 1.0 MiB).
  while (i < units.length - 1 && (i === 0 ? v >= 1024 : Number(v.toFixed(1)) >= 1024)) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}

/**
 * The cluster's gateway nodes. With several active gateways (active-active), what each carries
 * too: the open flows its host tracks and the bytes its cables carried (as of its last status
 * refresh); one active gateway: Submariner's columns.
 */
function gateways(v: ClusterView): string {
  if (!v.gateways.length) return "No gateways found";
  const several = v.gateways.filter((g) => g.status.haStatus === "active").length > 1;
  return renderTable(
    [
      { header: "NODE", max: 30 },
      { header: "HA STATUS" },
      ...(several ? [{ header: "FLOWS" }, { header: "RX" }, { header: "TX" }] : []),
      { header: "SUMMARY" },
    ],
    v.gateways.map((g) => {
      const n = g.status.connections.length;
      const up = g.status.connections.filter((c) => c.status === "connected").length;
      const summary =
        g.status.statusFailure ||
        (n === 0 ? "There are no connections" : up === n ? `All connections (${n}) are established` : `${up} connections out of ${n} are established`);
      const t = g.status.traffic;
      const carried = several ? [t?.flows === undefined ? "" : String(t.flows), t ? formatBytes(t.rxBytes) : "", t ? formatBytes(t.txBytes) : ""] : [];
      return [g.hostname, g.status.haStatus, ...carried, summary];
    }),
  );
}

/** Pure: a cluster's globalnet addresses (global CIDR, egress pool), when it has a global CIDR. */
export function globalnetOf(c: ClusterView["cluster"]): { globalCIDR: string; egressIPs: string } | undefined {
  const g = c?.global_cidr[0];
  const a = g ? globalAddresses(g) : undefined;
  return g && a ? { globalCIDR: g, egressIPs: `${a.egressIPs[0]}-${a.egressIPs.at(-1)}` } : undefined;
}

function networks(v: ClusterView): string {
  const c = v.cluster;
  const g = globalnetOf(c);
  return [
    "    Discovered network details via Causeway:",
    "        Network plugin:  generic",
    `        Service CIDRs:   [${c?.service_cidr.join(" ") ?? ""}]`,
    `        Cluster CIDRs:   [${c?.cluster_cidr.join(" ") ?? ""}]`,
    ...(g ? [`        Global CIDR:     ${g.globalCIDR}`, `        Egress IPs:      ${g.egressIPs}`] : []),
  ].join("\n");
}

/** The versions the cluster's gateways report (what runs, per node). */
function versions(v: ClusterView): string {
  if (!v.gateways.length) return "No gateways found";
  return renderTable(
    [{ header: "COMPONENT" }, { header: "NODE", max: 30 }, { header: "VERSION" }],
    v.gateways.map((g) => ["causeway-gateway", g.hostname, g.status.version]),
  );
}

const RENDER: Record<Section, (v: ClusterView) => string> = { connections, endpoints, gateways, networks, versions };
const TITLE: Record<Section, string> = {
  connections: "Connections",
  endpoints: "Endpoints",
  gateways: "Gateways",
  networks: "Network details",
  versions: "Versions",
};

/** subctl-style text: per cluster a `Cluster "<id>"` header, then each section with its ✓ line. */
export function renderText(views: readonly ClusterView[], sections: readonly Section[]): string {
  const out: string[] = [];
  for (const v of views) {
    out.push(`Cluster "${v.id}"`);
    for (const s of sections) out.push(` ✓ Showing ${TITLE[s]}`, RENDER[s](v), "");
  }
  return out.join("\n");
}

/** Structured output for -o json|yaml. */
export function toData(views: readonly ClusterView[], sections: readonly Section[]) {
  return {
    clusters: views.map((v) => ({
      id: v.id,
      ...(sections.includes("networks")
        ? { serviceCIDRs: v.cluster?.service_cidr ?? [], clusterCIDRs: v.cluster?.cluster_cidr ?? [], ...globalnetOf(v.cluster) }
        : {}),
      ...(sections.includes("endpoints") ? { endpoints: v.endpoints.map((e) => ({ ...e.endpoint, type: e.type })) } : {}),
      ...(sections.includes("versions")
        ? { versions: v.gateways.map((g) => ({ component: "causeway-gateway", node: g.hostname, version: g.status.version })) }
        : {}),
      ...(sections.includes("gateways") || sections.includes("connections")
        ? { gateways: v.gateways.map((g) => ({ hostname: g.hostname, ...g.status })) }
        : {}),
    })),
  };
}
