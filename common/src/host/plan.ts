import type { FdbEntry, NetOp, NetState, ObservedLink, ObservedState, Ownership, Route, Rule, VxlanLink } from "./model.ts";
import { applyNexthopOps, dropMember, EMPTY_NEXTHOPS, type NexthopOp, nexthopPlan, type NexthopState } from "./nexthop.ts";

const fdbKey = (e: FdbEntry) => `${e.dev}|${e.mac ?? ""}|${e.dst}|${e.port ?? ""}`;
const routeKey = (r: Route) => `${r.table}|${r.dst}`;
const sameRoute = (a: Route, b: Route) =>
  a.nhid !== undefined || b.nhid !== undefined
    ? a.nhid === b.nhid && (a.src ?? "") === (b.src ?? "")
    : a.dev === b.dev && (a.via ?? "") === (b.via ?? "") && (a.src ?? "") === (b.src ?? "") && Boolean(a.onlink) === Boolean(b.onlink);
const ruleKey = (r: Rule) => `${r.priority}|${r.table}|${r.fwmark ? `${r.fwmark.mark}/${r.fwmark.mask}` : ""}|${r.src ?? ""}`;

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
  const wantLinks = new Map(desired.links.map((l) => [l.name, l] as const));
  const { ops, fresh } = planLinks(
    wantLinks,
    observed.links.filter((l) => ownsLink.has(l.name)),
  );
  // Objects on a link that is deleted or re-created vanish with it: never delete them one by one.
  const alive = (dev: string) => !ownsLink.has(dev) || (wantLinks.has(dev) && !fresh.has(dev));
  const obsFdb = observed.fdb.filter((e) => ownsLink.has(e.dev) && alive(e.dev));
  const ownsTable = new Set(owned.tables);
  const nh = owned.nexthopIds
    ? nexthopPlan(desired.nexthops ?? EMPTY_NEXTHOPS, surviving(observed.nexthops ?? EMPTY_NEXTHOPS, alive), owned.nexthopIds)
    : undefined;
  // A group made again (its bucket count changed) takes its routes with it: they are made again too.
  const remade = new Set((nh?.make ?? []).flatMap((o) => (o.op === "del" ? [o.id] : [])));
  const obsRoutes = observed.routes.filter((r) => ownsTable.has(r.table) && alive(r.dev) && (r.nhid === undefined || !remade.has(r.nhid)));
  const ownsPrio = new Set(owned.rulePriorities);
  const asOps = (xs: readonly NexthopOp[]): NetOp[] => xs.map((x) => ({ op: "nexthop", nh: x }));
  return [
    ...ops,
    ...planFdb(desired.fdb, obsFdb, (e) => fresh.has(e.dev) && wantLinks.get(e.dev)?.remote === e.dst && e.port === undefined && e.mac === undefined),
    ...planRules(
      desired.rules,
      observed.rules.filter((r) => ownsPrio.has(r.priority)),
    ),
    // Next hops before the routes that use them; those no longer used after.
    ...asOps(nh?.make ?? []),
    ...planRoutes(desired.routes, obsRoutes),
    ...asOps(nh?.remove ?? []),
  ];
}

/** Pure: the next hops that outlive this plan's link changes: members on a link deleted or made again go, and so do groups left without members. */
function surviving(observed: NexthopState, alive: (dev: string) => boolean): NexthopState {
  const groups = new Map(observed.groups.map((g) => [g.id, g] as const));
  const members = observed.members.filter((m) => {
    if (alive(m.dev)) return true;
    dropMember(groups, m.id);
    return false;
  });
  return { members, groups: [...groups.values()] };
}

/** Links: deleted when unwanted, re-created when their identity changed (then `fresh`), else fixed in place. */
function planLinks(want: ReadonlyMap<string, VxlanLink>, observed: readonly ObservedLink[]): { ops: NetOp[]; fresh: Set<string> } {
  const ops: NetOp[] = [];
  const fresh = new Set<string>();
  const obs = new Map(observed.map((l) => [l.name, l] as const));
  for (const name of obs.keys()) if (!want.has(name)) ops.push({ op: "link-del", name });
  for (const [name, w] of want) {
    const have = obs.get(name);
    if (have && !sameLinkIdentity(w, have)) ops.push({ op: "link-del", name });
    if (!have || !sameLinkIdentity(w, have)) {
      // A re-created link loses its FDB entries and routes: the callers treat them as absent.
      fresh.add(name);
      ops.push({ op: "link-add", link: w }, { op: "addr-add", name, addr: w.addr });
      continue;
    }
    if (have.mtu !== w.mtu || !have.up) ops.push({ op: "link-mtu", name, mtu: w.mtu });
    if (have.addrs.length !== 1 || have.addrs[0] !== w.addr) ops.push({ op: "addr-flush", name }, { op: "addr-add", name, addr: w.addr });
  }
  return { ops, fresh };
}

/** FDB entries; `automatic` ones the kernel adds itself (towards a fresh link's remote). */
function planFdb(desired: readonly FdbEntry[], observed: readonly FdbEntry[], automatic: (e: FdbEntry) => boolean): NetOp[] {
  const ops: NetOp[] = [];
  const obs = new Map(observed.map((e) => [fdbKey(e), e] as const));
  const want = new Map(desired.map((e) => [fdbKey(e), e] as const));
  for (const [k, e] of obs) if (!want.has(k)) ops.push({ op: "fdb-del", entry: e });
  for (const [k, e] of want) if (!obs.has(k) && !automatic(e)) ops.push({ op: "fdb-append", entry: e });
  return ops;
}

/** Rules at owned priorities: exactly the desired ones, each once (duplicates are removed). */
function planRules(desired: readonly Rule[], observed: readonly Rule[]): NetOp[] {
  const ops: NetOp[] = [];
  const want = new Map(desired.map((r) => [ruleKey(r), r] as const));
  const seen = new Set<string>();
  for (const r of observed) {
    const k = ruleKey(r);
    if (!want.has(k) || seen.has(k)) ops.push({ op: "rule-del", rule: r });
    seen.add(k);
  }
  for (const [k, r] of want) if (!seen.has(k)) ops.push({ op: "rule-add", rule: r });
  return ops;
}

/** Routes in owned tables: replaced when different, deleted when unwanted. */
function planRoutes(desired: readonly Route[], observed: readonly Route[]): NetOp[] {
  const ops: NetOp[] = [];
  const obs = new Map(observed.map((r) => [routeKey(r), r] as const));
  const want = new Map(desired.map((r) => [routeKey(r), r] as const));
  for (const [k, r] of obs) if (!want.has(k)) ops.push({ op: "route-del", route: r });
  for (const [k, r] of want) {
    const have = obs.get(k);
    if (!have || !sameRoute(have, r)) ops.push({ op: "route-replace", route: r });
  }
  return ops;
}

/** Applies ops to a state value the way the kernel would (used by the fake and by tests). */
export function applyOps(state: ObservedState, ops: readonly NetOp[]): ObservedState {
  let links = [...state.links];
  let fdb = [...state.fdb];
  const rules = [...state.rules];
  let routes = [...state.routes];
  let nexthops = state.nexthops ?? EMPTY_NEXTHOPS;
  const dropGroups = (ids: readonly number[]) => (routes = routes.filter((r) => r.nhid === undefined || !ids.includes(r.nhid)));
  const dropDev = (name: string) => {
    fdb = fdb.filter((e) => e.dev !== name);
    routes = routes.filter((r) => r.dev !== name);
    // The kernel deletes a device's next hops with it, and groups left without members.
    const groups = new Map(nexthops.groups.map((g) => [g.id, g] as const));
    for (const m of nexthops.members) if (m.dev === name) dropGroups(dropMember(groups, m.id));
    nexthops = { members: nexthops.members.filter((m) => m.dev !== name), groups: [...groups.values()] };
  };
  // A reconciler's link is up while it exists; other devices (the underlay) are taken to be.
  const known = new Set(state.links.map((l) => l.name));
  const up = (dev: string) => links.some((l) => l.name === dev) || !known.has(dev);
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
      case "nexthop": {
        const r = applyNexthopOps(nexthops, [o.nh], up);
        nexthops = r.state;
        dropGroups(r.goneGroups);
        break;
      }
      default:
        o satisfies never;
    }
  }
  return { links, fdb, rules, routes, ...(nexthops.members.length || state.nexthops ? { nexthops } : {}) };
}
