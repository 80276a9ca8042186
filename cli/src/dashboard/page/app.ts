/**
 * The dashboard page (bundled by esbuild into /app.js; no network but its own server): it
 * follows /api/stream (Server-Sent Events read through fetch, so the token travels in a header,
 * never in a URL), and draws the topology, the clusters, gateways and cables as text too, the
 * services, the events and the selected object's fields. Everything shown is text (preact's
 * text nodes, canvas labels): a name holding HTML is displayed, never parsed.
 */
import { Component, h, render, type ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { stringify } from "yaml";
import type { DashboardState } from "../model.ts";
import type { DashMessage, TimedEvent } from "../server.ts";
import { type Selection, TopologyGraph } from "./graph.ts";

type Link = "connecting" | "live" | "reconnecting" | "needs-token";
const TOKEN_KEY = "causeway-dashboard-token";
const EMPTY: DashboardState = { clusters: [], cables: [], services: [] };

/** Follows the stream until `stop()`: each message to `onMessage`; the link's state to `onLink`. */
function follow(token: string, onMessage: (kind: string, m: DashMessage) => void, onLink: (l: Link) => void): () => void {
  let stopped = false;
  let ac: AbortController | undefined;
  const run = async () => {
    while (!stopped) {
      ac = new AbortController();
      try {
        const res = await fetch("/api/stream", { headers: token ? { authorization: `Bearer ${token}` } : {}, signal: ac.signal });
        if (res.status === 401) return onLink("needs-token");
        if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
        onLink("live");
        const reader = res.body.getReader();
        const dec = new TextDecoder();
        let buf = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += dec.decode(value, { stream: true });
          let i: number;
          while ((i = buf.indexOf("\n\n")) >= 0) {
            const block = buf.slice(0, i);
            buf = buf.slice(i + 2);
            const kind = /^event: (.*)$/m.exec(block)?.[1] ?? "";
            const data = /^data: (.*)$/m.exec(block)?.[1];
            if (data) onMessage(kind, JSON.parse(data) as DashMessage);
          }
        }
      } catch {
        // the dashboard server is gone for now: try again
      }
      if (stopped) return;
      onLink("reconnecting");
      await new Promise((r) => setTimeout(r, 1000));
    }
  };
  void run();
  return () => {
    stopped = true;
    ac?.abort();
  };
}

/**
 * Pure: `next` with each cluster, cable and service equal to the one of the same id in `prev`
 * replaced by prev's object: unchanged rows keep their identity and are not drawn again (a
 * status change redraws its row, not the thousands beside it).
 */
function share(prev: DashboardState, next: DashboardState): DashboardState {
  const same = <T>(a: readonly T[], b: readonly T[], id: (x: T) => string): T[] => {
    const was = new Map(a.map((x) => [id(x), x]));
    return b.map((x) => {
      const p = was.get(id(x));
      return p !== undefined && JSON.stringify(p) === JSON.stringify(x) ? p : x;
    });
  };
  return {
    clusters: same(prev.clusters, next.clusters, (c) => c.id),
    cables: same(prev.cables, next.cables, (c) => c.id),
    services: same(prev.services, next.services, (x) => x.id),
  };
}

/** A row drawn again only when its item is another object (see share). */
class Row extends Component<{ item: unknown; draw: () => ComponentChildren }> {
  override shouldComponentUpdate(next: { item: unknown }): boolean {
    return next.item !== this.props.item;
  }
  override render(): ComponentChildren {
    return this.props.draw();
  }
}

/** Cables listed in full up to this many; beyond, those not connected, and all on demand. */
const CABLES_LISTED = 60;

const ago = (ms: number) => (ms < 60_000 ? `${Math.round(ms / 1000)} s` : `${Math.round(ms / 60_000)} min`);
const time = (ms: number) => new Date(ms).toLocaleTimeString();
const mark = { connected: "✔", connecting: "…", error: "✖", none: "✖", active: "●", passive: "○", down: "✖" } as const;

function Section(p: { title: string; id: string; children?: ComponentChildren }) {
  return h("section", { "aria-labelledby": `${p.id}-h`, id: p.id }, h("h2", { id: `${p.id}-h` }, p.title), p.children);
}

/** A row's subject as a button: keyboard-reachable, selects what it names. */
function Pick(p: { sel: Selection; label: string; onSelect: (s: Selection) => void }) {
  return h("button", { type: "button", class: "pick", onClick: () => p.onSelect(p.sel) }, p.label);
}

/** The selected object's fields, as `show -o yaml` prints them. */
function detailOf(s: DashboardState, sel: Selection | undefined): unknown {
  if (!sel) return undefined;
  if (sel.kind === "cluster") return s.clusters.find((c) => c.id === sel.id);
  if (sel.kind === "cable") return s.cables.find((c) => c.id === sel.id);
  if (sel.kind === "service") return s.services.find((x) => x.id === sel.id);
  const [cluster, node] = [sel.id.slice(0, sel.id.indexOf("/")), sel.id.slice(sel.id.indexOf("/") + 1)];
  return s.clusters.find((c) => c.id === cluster)?.gateways.find((g) => g.node === node);
}

function Topology(p: { s: DashboardState; onSelect: (s: Selection) => void }) {
  const box = useRef<HTMLDivElement>(null);
  const graph = useRef<TopologyGraph>(undefined);
  useEffect(() => {
    if (!box.current) return undefined;
    graph.current = new TopologyGraph(box.current, p.onSelect);
    return () => graph.current?.destroy();
  }, []);
  useEffect(() => graph.current?.update(p.s), [p.s]);
  const { s, onSelect } = p;
  return h(
    Section,
    { title: "Topology", id: "topology" },
    h("div", { ref: box, class: "graph", role: "img", "aria-label": "clusters, gateways and cables (listed below)" }),
    h(
      "table",
      { class: "clusters" },
      h("thead", null, h("tr", null, h("th", null, "Cluster"), h("th", null, "CIDRs"), h("th", null, "Gateways"))),
      h(
        "tbody",
        null,
        s.clusters.map((c) =>
          h(
            "tr",
            { key: c.id, "data-cluster": c.id },
            h("td", null, h(Pick, { sel: { kind: "cluster", id: c.id }, label: c.id, onSelect })),
            h("td", null, [...c.podCidrs, ...c.globalCidrs.map((g) => `global ${g}`)].join(", ")),
            h(
              "td",
              null,
              c.gateways.map((g) =>
                h(
                  "span",
                  { key: g.node, class: `gw ${g.state}`, "data-gateway": `${c.id}/${g.node}`, "data-state": g.state },
                  h(Pick, { sel: { kind: "gateway", id: `${c.id}/${g.node}` }, label: `${mark[g.state]} ${g.node} ${g.state}`, onSelect }),
                ),
              ),
            ),
          ),
        ),
      ),
    ),
    h(Cables, { s, onSelect }),
  );
}

function cableTable(cables: DashboardState["cables"], onSelect: (s: Selection) => void): ComponentChildren {
  return h(
    "table",
    { class: "cables" },
    h("thead", null, h("tr", null, h("th", null, "Cable"), h("th", null, "Driver"), h("th", null, "Status"), h("th", null, "RTT"), h("th", null, "Message"))),
    h(
      "tbody",
      null,
      cables.map((c) =>
        h(Row, {
          key: c.id,
          item: c,
          draw: () =>
            h(
              "tr",
              { class: c.status, "data-cable": c.id, "data-status": c.status },
              h("td", null, h(Pick, { sel: { kind: "cable", id: c.id }, label: c.id, onSelect })),
              h("td", null, c.driver),
              h("td", { class: `status ${c.status}` }, `${mark[c.status]} ${c.status}`),
              h("td", null, c.rttMs === undefined ? "" : `${c.rttMs} ms`),
              h("td", null, c.message),
            ),
        }),
      ),
    ),
  );
}

/** The cables as text: all of them in a small clusterset; in a large one those not connected, and all on demand. */
function Cables(p: { s: DashboardState; onSelect: (s: Selection) => void }) {
  const [all, setAll] = useState(false);
  const { cables } = p.s;
  if (cables.length <= CABLES_LISTED) return cableTable(cables, p.onSelect);
  const problems = cables.filter((c) => c.status !== "connected");
  return h(
    "div",
    null,
    problems.length ? cableTable(problems, p.onSelect) : h("p", { class: "status connected" }, `✔ all ${cables.length} cables connected`),
    h("button", { type: "button", onClick: () => setAll(!all), "aria-expanded": all }, all ? "Hide the full list" : `List all ${cables.length} cables`),
    all ? cableTable(cables, p.onSelect) : null,
  );
}

/** "c1 ← c2 (failed over)": who answers a cluster's clients, and how. */
const servedText = (t: DashboardState["services"][number]["servedTo"][number]): string =>
  t.how === "local"
    ? `${t.cluster}: local`
    : t.how === "none"
      ? `${t.cluster}: ✖ nobody`
      : `${t.cluster} ← ${t.by.join(", ")}${t.how === "failed over" ? " (failed over)" : ""}`;

/** Services listed in full up to this many; beyond, by namespace, each opened on demand, and a filter. */
const SERVICES_LISTED = 200;

function serviceRows(services: DashboardState["services"], onSelect: (s: Selection) => void): ComponentChildren {
  return h(
    "table",
    null,
    h(
      "thead",
      null,
      h(
        "tr",
        null,
        h("th", null, "Service"),
        h("th", null, "Type"),
        h("th", null, "Clusterset IP"),
        h("th", null, "Exported by (ready)"),
        h("th", null, "Answering"),
        h("th", null, "Each cluster's clients"),
        h("th", null, "Conflict"),
      ),
    ),
    h(
      "tbody",
      null,
      services.map((x) =>
        h(Row, {
          key: x.id,
          item: x,
          draw: () =>
            h(
              "tr",
              { "data-service": x.id, "data-answering": x.answering.join(",") },
              h("td", null, h(Pick, { sel: { kind: "service", id: x.id }, label: x.id, onSelect })),
              h("td", null, x.type),
              h("td", null, x.clustersetIp ?? ""),
              h("td", null, x.exporters.map((e) => `${e.cluster} ${e.ready}/${e.endpoints}${e.unavailable ? " (unavailable)" : ""}`).join(", ")),
              h("td", { class: x.answering.length ? "" : "status error" }, x.answering.length ? x.answering.join(", ") : "✖ none"),
              h("td", { "data-served": x.servedTo.map((t) => `${t.cluster}:${t.how}:${t.by.join("+")}`).join(";") }, x.servedTo.map(servedText).join("; ")),
              h("td", null, x.conflict ?? ""),
            ),
        }),
      ),
    ),
  );
}

/** The services: all of them up to SERVICES_LISTED; beyond, a line per namespace (its count, those nobody answers), opened on demand, and a filter by name. */
function Services(p: { s: DashboardState; onSelect: (s: Selection) => void }) {
  const [filter, setFilter] = useState("");
  const [open, setOpen] = useState<ReadonlySet<string>>(new Set());
  const all = p.s.services;
  const body = (): ComponentChildren => {
    if (all.length === 0) return h("p", null, "No service is exported.");
    if (all.length <= SERVICES_LISTED) return serviceRows(all, p.onSelect);
    const shown = filter ? all.filter((x) => x.id.includes(filter)) : all;
    const byNs = new Map<string, DashboardState["services"][number][]>();
    for (const x of shown) byNs.set(x.namespace, [...(byNs.get(x.namespace) ?? []), x]);
    return h(
      "div",
      null,
      h("label", { for: "svc-filter" }, "Filter by name: "),
      h("input", { id: "svc-filter", type: "search", value: filter, onInput: (e: Event) => setFilter((e.target as HTMLInputElement).value) }),
      h(
        "p",
        { "data-services": String(all.length) },
        `${all.length} services in ${new Set(all.map((x) => x.namespace)).size} namespaces${filter ? `, ${shown.length} matching` : ""}`,
      ),
      [...byNs].map(([ns, xs]) => {
        const unanswered = xs.filter((x) => !x.answering.length).length;
        const isOpen = open.has(ns) || (filter !== "" && shown.length <= SERVICES_LISTED);
        return h(
          "div",
          { key: ns, class: "namespace", "data-namespace": ns },
          h(
            "button",
            {
              type: "button",
              "aria-expanded": isOpen,
              onClick: () => setOpen((was) => (was.has(ns) ? new Set([...was].filter((x) => x !== ns)) : new Set([...was, ns]))),
            },
            `${isOpen ? "▾" : "▸"} ${ns}: ${xs.length} services${unanswered ? `, ✖ ${unanswered} answered by no cluster` : ""}`,
          ),
          isOpen ? serviceRows(xs, p.onSelect) : null,
        );
      }),
    );
  };
  return h(Section, { title: "Services", id: "services" }, body());
}

function Events(p: { events: readonly TimedEvent[] }) {
  return h(
    Section,
    { title: "Events", id: "events" },
    p.events.length === 0
      ? h("p", null, "Nothing has changed since the dashboard started.")
      : h(
          "ol",
          { reversed: true },
          [...p.events]
            .reverse()
            .map((e, i) => h("li", { key: `${e.atMs}-${i}` }, h("time", null, time(e.atMs)), ` ${e.kind} `, h("strong", null, e.subject), `: ${e.text}`)),
        ),
  );
}

function TokenForm(p: { onToken: (t: string) => void }) {
  const [value, setValue] = useState("");
  return h(
    "form",
    {
      class: "token",
      onSubmit: (e: Event) => {
        e.preventDefault();
        p.onToken(value);
      },
    },
    h("label", { for: "token" }, "This dashboard needs its token (causeway dashboard --token): "),
    h("input", { id: "token", type: "password", value, onInput: (e: Event) => setValue((e.target as HTMLInputElement).value), autocomplete: "off" }),
    h("button", { type: "submit" }, "Open"),
  );
}

function App() {
  const [token, setToken] = useState(sessionStorage.getItem(TOKEN_KEY) ?? "");
  const [link, setLink] = useState<Link>("connecting");
  const [msg, setMsg] = useState<DashMessage>({ state: EMPTY, events: [] });
  const [sel, setSel] = useState<Selection | undefined>(undefined);
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, []);
  useEffect(
    () =>
      follow(
        token,
        (kind, m) =>
          setMsg((was) => ({
            ...m,
            state: share(was.state, m.state),
            events: kind === "state" ? m.events : [...was.events, ...m.events].slice(-500),
          })),
        setLink,
      ),
    [token],
  );
  const s = msg.state;
  const broken = s.cables.filter((c) => c.status !== "connected").length;
  const detail = detailOf(s, sel);
  return h(
    "main",
    null,
    h(
      "header",
      null,
      h("h1", null, "Causeway clusterset"),
      h(
        "p",
        { class: "summary", "aria-live": "polite" },
        `${s.clusters.length} clusters · ${s.cables.length} cables (${broken ? `${broken} not connected` : "all connected"}) · ${s.services.length} services · `,
        h(
          "span",
          { class: `link ${link}`, "data-link": link },
          link === "live" ? "live" : link === "reconnecting" ? "reconnecting to the dashboard server…" : link,
        ),
      ),
      msg.stale
        ? h(
            "p",
            { class: "stale", role: "alert", "data-stale": "true" },
            `Stale: ${msg.stale.problem} — this is the last view, from ${ago(now - msg.stale.sinceMs)} ago.`,
          )
        : null,
    ),
    link === "needs-token"
      ? h(TokenForm, {
          onToken: (t) => {
            sessionStorage.setItem(TOKEN_KEY, t);
            setToken(t);
            setLink("connecting");
          },
        })
      : null,
    h(Topology, { s, onSelect: setSel }),
    h(Services, { s, onSelect: setSel }),
    h(
      Section,
      { title: "Detail", id: "detail" },
      detail
        ? h("pre", { "data-detail": sel ? `${sel.kind}:${sel.id}` : "" }, stringify(detail))
        : h("p", null, "Select a cluster, gateway, cable or service."),
    ),
    h(Events, { events: msg.events }),
  );
}

render(h(App, null), document.body);
