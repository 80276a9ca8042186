/**
 * The topology drawing: each cluster a compound node holding its gateways, each cable an edge
 * between gateways (cytoscape, laid out by fcose, which keeps compound graphs readable at 20+
 * clusters). Status is told by shape and line style as well as colour: a gateway active (round
 * rectangle), passive (ellipse) or down (octagon, "down" in its label); a pair of gateways'
 * cables (one edge for both directions, the worse status) connected (solid), connecting (dashed)
 * or in error (dotted, its label saying so). Labels are canvas text, never HTML.
 */
import cytoscape, { type Core, type ElementDefinition } from "cytoscape";
import fcose from "cytoscape-fcose";
import type { DashboardState } from "../model.ts";

cytoscape.use(fcose);

/** What a click on the drawing selects. */
export type Selection = { kind: "cluster" | "gateway" | "cable" | "service"; id: string };

const STYLE: cytoscape.StylesheetJson = [
  {
    selector: "node.cluster",
    style: {
      label: "data(label)",
      "text-valign": "top",
      "text-wrap": "wrap",
      "font-size": 12,
      "background-color": "#eef2f7",
      "border-color": "#7a8ba3",
      "border-width": 1,
      shape: "round-rectangle",
      padding: "14px",
    },
  },
  {
    selector: "node.gateway",
    style: { label: "data(label)", "font-size": 10, "text-valign": "bottom", "text-margin-y": 3, width: 22, height: 22, "border-width": 2 },
  },
  { selector: "node.active", style: { shape: "round-rectangle", "background-color": "#2e7d32", "border-color": "#1b5e20" } },
  { selector: "node.passive", style: { shape: "ellipse", "background-color": "#cfd8dc", "border-color": "#607d8b" } },
  { selector: "node.down", style: { shape: "octagon", "background-color": "#c62828", "border-color": "#7f0000" } },
  {
    selector: "edge",
    style: { label: "data(label)", "font-size": 9, "curve-style": "straight", width: 2, "text-rotation": "autorotate" },
  },
  { selector: "edge.connected", style: { "line-style": "solid", "line-color": "#2e7d32" } },
  { selector: "edge.connecting", style: { "line-style": "dashed", "line-color": "#f9a825" } },
  { selector: "edge.error, edge.none", style: { "line-style": "dotted", "line-color": "#c62828", width: 3 } },
  // A large clusterset: connected pairs faint, so that the ones in trouble stand out.
  { selector: "edge.connected.quiet", style: { width: 1, opacity: 0.25 } },
  { selector: ":selected", style: { "overlay-color": "#1565c0", "overlay-opacity": 0.2, "overlay-padding": 4 } },
];

/** Pure: the drawing's elements for a state: clusters and their gateways, then the cables. */
export function elementsOf(s: DashboardState): ElementDefinition[] {
  const nodes = nodesOf(s);
  return [...nodes, ...edgesOf(s, new Set(nodes.map((e) => e.data.id ?? "")))];
}

function nodesOf(s: DashboardState): ElementDefinition[] {
  return s.clusters.flatMap((c) => {
    const cidrs = [...c.podCidrs, ...c.globalCidrs.map((g) => `global ${g}`)].join(", ");
    return [
      { data: { id: `cluster:${c.id}`, label: `${c.id}\n${cidrs}`, kind: "cluster", ref: c.id }, classes: "cluster" },
      ...c.gateways.map((g) => ({
        data: { id: `gw:${c.id}/${g.node}`, parent: `cluster:${c.id}`, label: `${g.node} (${g.state})`, kind: "gateway", ref: `${c.id}/${g.node}` },
        classes: `gateway ${g.state}`,
      })),
    ];
  });
}

type Cable = DashboardState["cables"][number];
const RANK = { connected: 0, connecting: 1, none: 2, error: 3 } as const;

/**
 * One edge per pair of gateways (each side reports its own cable): the worse status of the two,
 * labelled with it; a connected pair with its round trip only in a small clusterset (20+
 * clusters: faint and unlabelled, so that the pairs in trouble stand out).
 */
function edgesOf(s: DashboardState, nodes: ReadonlySet<string>): ElementDefinition[] {
  const pairs = new Map<string, { a: string; b: string; worst: Cable; rtts: number[] }>();
  for (const cable of s.cables) {
    const [x, y] = [`gw:${cable.from.cluster}/${cable.from.node}`, `gw:${cable.to.cluster}/${cable.to.node}`];
    if (!nodes.has(x) || !nodes.has(y)) continue;
    const [a, b] = x < y ? [x, y] : [y, x];
    const p = pairs.get(`${a}|${b}`) ?? { a, b, worst: cable, rtts: [] };
    if (RANK[cable.status] > RANK[p.worst.status]) p.worst = cable;
    if (cable.rttMs !== undefined) p.rtts.push(cable.rttMs);
    pairs.set(`${a}|${b}`, p);
  }
  const small = s.clusters.length < CIRCLE_FROM;
  return [...pairs].map(([key, p]) => {
    const c = p.worst;
    const rtt = p.rtts.length ? Math.max(...p.rtts) : undefined;
    const rttText = rtt === undefined ? "" : ` ${rtt < 10 ? rtt.toFixed(2) : Math.round(rtt)} ms`;
    const label = c.status !== "connected" ? `${c.status.toUpperCase()} ${c.driver}` : small ? `${c.driver}${rttText}` : "";
    return { data: { id: `cable:${key}`, source: p.a, target: p.b, label, kind: "cable", ref: c.id }, classes: small ? c.status : `${c.status} quiet` };
  });
}

/** From this many clusters on, they are placed on a circle. */
const CIRCLE_FROM = 20;

/** Pure: each gateway's position with the clusters on a circle, a cluster's gateways side by side. */
function circle(s: DashboardState): Record<string, { x: number; y: number }> {
  const n = s.clusters.length;
  const r = Math.max(300, n * 30);
  const out: Record<string, { x: number; y: number }> = {};
  s.clusters.forEach((c, i) => {
    const a = (2 * Math.PI * i) / n;
    c.gateways.forEach((g, k) => {
      out[`gw:${c.id}/${g.node}`] = { x: r * Math.cos(a) + (k - (c.gateways.length - 1) / 2) * 40, y: r * Math.sin(a) };
    });
  });
  return out;
}

/** The drawing in `container`: updated in place when only statuses change, laid out again when nodes come or go. */
export class TopologyGraph {
  readonly #cy: Core;
  #shape = "";
  #last = new Map<string, ElementDefinition>();

  constructor(container: HTMLElement, onSelect: (s: Selection) => void) {
    this.#cy = cytoscape({ container, style: STYLE, elements: [], minZoom: 0.1, maxZoom: 3 });
    this.#cy.on("tap", "node, edge", (e) => {
      const target = e.target as cytoscape.SingularElementArgument;
      const d = target.data() as { kind: Selection["kind"]; ref: string };
      onSelect({ kind: d.kind, id: d.ref });
    });
  }

  update(s: DashboardState): void {
    const els = elementsOf(s);
    const shape = els
      .map((e) => e.data.id)
      .sort()
      .join("|");
    if (shape !== this.#shape) {
      this.#cy.elements().remove();
      // Past 20 clusters, the clusters on a circle (their gateways side by side), placed as they are
      // added: fcose took 0.76 s for 50 clusters in a full mesh, which has no shape a force layout could bring out.
      if (s.clusters.length >= CIRCLE_FROM) {
        const at = circle(s);
        this.#cy.add(els.map((e) => (at[e.data.id ?? ""] ? { ...e, position: at[e.data.id ?? ""] } : e)));
        // Fitted to the known positions: cy.fit() measures every edge (0.6 s for 1,225).
        this.#fitTo(Object.values(at));
      } else {
        this.#cy.add(els);
        this.#cy.layout({ name: "fcose", animate: false, nodeDimensionsIncludeLabels: true, packComponents: true } as cytoscape.LayoutOptions).run();
        this.#cy.fit(undefined, 20);
      }
      this.#shape = shape;
      this.#last = new Map(els.map((e) => [e.data.id ?? "", e]));
      return;
    }
    // Only what changed: a status change touches one or two elements, not thousands.
    const changed = els.filter((e) => {
      const was = this.#last.get(e.data.id ?? "");
      return !was || was.classes !== e.classes || was.data.label !== e.data.label || was.data.ref !== e.data.ref;
    });
    this.#last = new Map(els.map((e) => [e.data.id ?? "", e]));
    if (!changed.length) return;
    this.#cy.batch(() => {
      for (const e of changed) {
        const el = this.#cy.getElementById(e.data.id ?? "");
        el.data(e.data);
        el.classes(e.classes ?? "");
      }
    });
  }

  /** Zoom and pan so that `points` (with a margin for the clusters' boxes and labels) fill the container. */
  #fitTo(points: readonly { x: number; y: number }[]): void {
    if (!points.length) return;
    const margin = 80;
    const [x0, x1] = [Math.min(...points.map((p) => p.x)) - margin, Math.max(...points.map((p) => p.x)) + margin];
    const [y0, y1] = [Math.min(...points.map((p) => p.y)) - margin, Math.max(...points.map((p) => p.y)) + margin];
    const zoom = Math.min(this.#cy.width() / (x1 - x0), this.#cy.height() / (y1 - y0));
    this.#cy.zoom(zoom);
    this.#cy.pan({ x: this.#cy.width() / 2 - ((x0 + x1) / 2) * zoom, y: this.#cy.height() / 2 - ((y0 + y1) / 2) * zoom });
  }

  destroy(): void {
    this.#cy.destroy();
  }
}
