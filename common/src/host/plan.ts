import type { FdbEntry, NetOp, NetState, ObservedLink, ObservedState, Ownership, Route, Rule, VxlanLink } from "./model.ts";

const fdbKey = (e: FdbEntry) => `${e.dev}|${e.dst}`;
const routeKey = (r: Route) => `${r.table}|${r.dst}`;
const sameRoute = (a: Route, b: Route) =>
  a.dev === b.dev && (a.via ?? "") === (b.via ?? "") && (a.src ?? "") === (b.src ?? "") && Boolean(a.onlink) === Boolean(b.onlink);
const ruleKey = (r: Rule) => `${r.priority}|${r.table}`;

/** Link parameters that can only change by re-creating the device. */
function sameLinkIdentity(a: VxlanLink, b: VxlanLink): boolean {
  return a.vni === b.vni && a.port === b.port && a.local === b.local && (a.remote ?? "") === (b.remote ?? "");
}

/**
 * Computes the ops that turn `observed` into `desired`, touching only what `owned` names.
 * Pure: no I/O. Idempotent: plan(d, apply(plan(d, o))) is empty. Ordering: deletions of links,
 * then creations, addresses, FDB, rules, routes — so routes never point at a missing device.
 */
export function plan(desired: NetState, observed: ObservedState, owned: Ownership): NetOp[] {
  const ownsLink = new Set(owned.links);
  const ownsTable = new Set(owned.tables);
  const ownsPrio = new Set(owned.rulePriorities);
  const ops: NetOp[] = [];

  // Links. A re-created link loses its FDB entries and routes: treat them as absent.
  const fresh = new Set<string>();
  const obsLinks = new Map(observed.links.filter((l) => ownsLink.has(l.name)).map((l) => [l.name, l] as const));
  const wantLinks = new Map(desired.links.map((l) => [l.name, l] as const));
  for (const name of obsLinks.keys()) if (!wantLinks.has(name)) ops.push({ op: "link-del", name });
  for (const [name, want] of wantLinks) {
    const have: ObservedLink | undefined = obsLinks.get(name);
    if (have && !sameLinkIdentity(want, have)) ops.push({ op: "link-del", name });
    if (!have || !sameLinkIdentity(want, have)) {
      fresh.add(name);
      ops.push({ op: "link-add", link: want }, { op: "addr-add", name, addr: want.addr });
      continue;
    }
    if (have.mtu !== want.mtu || !have.up) ops.push({ op: "link-mtu", name, mtu: want.mtu });
    if (have.addrs.length !== 1 || have.addrs[0] !== want.addr) {
      ops.push({ op: "addr-flush", name }, { op: "addr-add", name, addr: want.addr });
    }
  }
  // Objects on a link that is deleted or re-created vanish with it: never delete them one by one.
  const alive = (dev: string) => !ownsLink.has(dev) || (wantLinks.has(dev) && !fresh.has(dev));

  // FDB entries on owned links.
  const obsFdb = new Map(observed.fdb.filter((e) => ownsLink.has(e.dev) && alive(e.dev)).map((e) => [fdbKey(e), e] as const));
  const wantFdb = new Map(desired.fdb.map((e) => [fdbKey(e), e] as const));
  for (const [k, e] of obsFdb) if (!wantFdb.has(k)) ops.push({ op: "fdb-del", entry: e });
  for (const [k, e] of wantFdb) {
    // The kernel adds the all-zero entry towards `remote` itself when it creates such a link.
    const automatic = fresh.has(e.dev) && wantLinks.get(e.dev)?.remote === e.dst;
    if (!obsFdb.has(k) && !automatic) ops.push({ op: "fdb-append", entry: e });
  }

  // Rules at owned priorities: exactly the desired ones, each once (duplicates are removed).
  const wantRules = new Map(desired.rules.map((r) => [ruleKey(r), r] as const));
  const seenRules = new Set<string>();
  for (const r of observed.rules) {
    if (!ownsPrio.has(r.priority)) continue;
    const k = ruleKey(r);
    if (!wantRules.has(k) || seenRules.has(k)) ops.push({ op: "rule-del", rule: r });
    seenRules.add(k);
  }
  for (const [k, r] of wantRules) if (!seenRules.has(k)) ops.push({ op: "rule-add", rule: r });

  // Routes in owned tables; a route through a re-created device is gone with it.
  const obsRoutes = new Map(
    observed.routes.filter((r) => ownsTable.has(r.table) && alive(r.dev)).map((r) => [routeKey(r), r] as const),
  );
  const wantRoutes = new Map(desired.routes.map((r) => [routeKey(r), r] as const));
  for (const [k, r] of obsRoutes) if (!wantRoutes.has(k)) ops.push({ op: "route-del", route: r });
  for (const [k, r] of wantRoutes) {
    const have = obsRoutes.get(k);
    if (!have || !sameRoute(have, r)) ops.push({ op: "route-replace", route: r });
  }
  return ops;
}

/** Applies ops to a state value the way the kernel would (used by the fake and by tests). */
export function applyOps(state: ObservedState, ops: readonly NetOp[]): ObservedState {
  let links = [...state.links];
  let fdb = [...state.fdb];
  let rules = [...state.rules];
  let routes = [...state.routes];
  const dropDev = (name: string) => {
    fdb = fdb.filter((e) => e.dev !== name);
    routes = routes.filter((r) => r.dev !== name);
  };
  for (const o of ops) {
    switch (o.op) {
      case "link-del":
        links = links.filter((l) => l.name !== o.name);
        dropDev(o.name);
        break;
      case "link-add":
        links.push({ ...o.link, addrs: [], up: true });
        if (o.link.remote) fdb.push({ dev: o.link.name, dst: o.link.remote });
        break;
      case "link-mtu":
        links = links.map((l) => (l.name === o.name ? { ...l, mtu: o.mtu, up: true } : l));
        break;
      case "addr-flush":
        links = links.map((l) => (l.name === o.name ? { ...l, addrs: [] } : l));
        break;
      case "addr-add":
        links = links.map((l) => (l.name === o.name ? { ...l, addrs: [...l.addrs, o.addr] } : l));
        break;
      case "fdb-append":
        fdb.push(o.entry);
        break;
      case "fdb-del":
        fdb = fdb.filter((e) => fdbKey(e) !== fdbKey(o.entry));
        break;
      case "rule-add":
        rules.push(o.rule);
        break;
      case "rule-del": {
        const i = rules.findIndex((r) => ruleKey(r) === ruleKey(o.rule));
        if (i >= 0) rules.splice(i, 1);
        break;
      }
      case "route-replace":
        routes = [...routes.filter((r) => routeKey(r) !== routeKey(o.route)), o.route];
        break;
      case "route-del":
        routes = routes.filter((r) => routeKey(r) !== routeKey(o.route));
        break;
      default:
        o satisfies never;
    }
  }
  return { links, fdb, rules, routes };
}
