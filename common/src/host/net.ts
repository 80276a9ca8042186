import type { CommandRunner } from "../exec/index.ts";
import type { FdbEntry, NetOp, ObservedLink, ObservedState, Ownership, Route, Rule } from "./model.ts";
import { parseJson } from "./json.ts";
import { EMPTY_NEXTHOPS, type NexthopIds, type NexthopState, parseNexthops, renderNexthopOp } from "./nexthop.ts";
import { hexMark } from "./packetfilter.ts";
import { applyOps } from "./plan.ts";
import { HostStateError } from "../errors.ts";

/** Reads and changes links, addresses, FDB entries, routes and rules. */
export interface Net {
  /** Observes the objects `owned` names (other objects are not reported). */
  observe(owned: Ownership): Promise<ObservedState>;
  /** Applies ops in order in as few processes as possible; throws CommandFailedError if any op failed (the rest are still attempted). */
  apply(ops: readonly NetOp[]): Promise<void>;
  /** The MTU of the interface that routes to `dst` (for tunnel MTU). */
  mtuTowards(dst: string): Promise<{ dev: string; mtu: number; src: string }>;
  /** The interface holding the local address `ip`, with its MTU and the address's prefix length; undefined if none. */
  interfaceOf(ip: string): Promise<Underlay | undefined>;
}

/** The interface that carries a node's address. */
export interface Underlay {
  readonly dev: string;
  readonly mtu: number;
  /** Prefix length of the node's address on `dev` (its on-link subnet). */
  readonly prefix: number;
}

interface JsonLink {
  ifname: string;
  mtu: number;
  flags?: string[];
  linkinfo?: { info_kind?: string; info_data?: { id?: number; port?: number; local?: string; remote?: string } };
  addr_info?: { family: string; local: string; prefixlen: number }[];
}
interface JsonRoute {
  dst: string;
  table?: string;
  dev?: string;
  gateway?: string;
  prefsrc?: string;
  flags?: string[];
  type?: string;
  nhid?: number;
  nexthops?: { dev?: string }[];
}
interface JsonRule {
  priority: number;
  table: string;
  src?: string;
  srclen?: number;
  fwmark?: string;
  fwmask?: string;
}
interface JsonFdb {
  mac: string;
  ifname?: string;
  dst?: string;
  port?: number;
  state?: string;
}

const ZERO_MAC = "00:00:00:00:00:00";

/** The next hops with ids in `ids`. */
function nexthopsWithin(nh: NexthopState | undefined, ids: NexthopIds): NexthopState {
  const mine = (id: number) => id >= ids.from && id <= ids.to;
  return { members: (nh?.members ?? []).filter((m) => mine(m.id)), groups: (nh?.groups ?? []).filter((g) => mine(g.id)) };
}

/** The real Net: `ip -json` to observe, `ip -batch` and `bridge -batch` to change. */
export class IpRoute2Net implements Net {
  readonly #run: CommandRunner;
  constructor(runner: CommandRunner) {
    this.#run = runner;
  }

  async observe(owned: Ownership): Promise<ObservedState> {
    // Every dump at once (the FDB of each owned link too, whether or not it exists yet): a pass
    // waits for the slowest one, not for their sum.
    const [linksOut, rulesOut, routesOut, nexthopsOut, ...fdbOut] = await Promise.all([
      this.#run.run("ip", ["-json", "-details", "address", "show"]),
      this.#run.run("ip", ["-json", "-4", "rule", "show"]),
      // One dump of every table; entries outside main carry their table id.
      owned.tables.length ? this.#run.run("ip", ["-json", "-4", "route", "show", "table", "all"]) : undefined,
      // A kernel without next-hop objects (before 5.3) has none to show: only making one fails there.
      owned.nexthopIds ? this.#run.run("ip", ["-json", "nexthop", "show"], { allowFailure: true }) : undefined,
      ...owned.links.map((l) => this.#run.run("bridge", ["-json", "fdb", "show", "dev", l], { allowFailure: true })),
    ]);
    const links = parseJson<JsonLink>(linksOut.stdout)
      .filter((l) => owned.links.includes(l.ifname))
      .map(toObservedLink);
    const rules: Rule[] = parseJson<JsonRule>(rulesOut.stdout)
      .filter((r) => owned.rulePriorities.includes(r.priority))
      .map((r) => ({
        priority: r.priority,
        table: Number(r.table),
        ...(r.fwmark ? { fwmark: { mark: Number(r.fwmark), mask: r.fwmask ? Number(r.fwmask) : 0xffffffff } } : {}),
        ...(r.src && r.src !== "all" ? { src: `${r.src}/${r.srclen ?? 32}` } : {}),
      }));
    const routes = routesOut ? parseJson<JsonRoute>(routesOut.stdout).flatMap((r) => toOwnedRoute(r, owned.tables)) : [];
    const fdb: FdbEntry[] = [];
    owned.links.forEach((name, i) => {
      const out = fdbOut[i];
      if (!links.some((l) => l.name === name) || !out || out.exitCode !== 0) return;
      for (const e of parseJson<JsonFdb>(out.stdout)) {
        // Zero-MAC entries and static MAC entries are ours; learned ones (no "permanent" state) are the kernel's.
        const mine = e.mac === ZERO_MAC || e.state === "permanent";
        if (mine && e.dst) fdb.push({ dev: name, dst: e.dst, ...(e.mac !== ZERO_MAC ? { mac: e.mac } : {}), ...(e.port ? { port: e.port } : {}) });
      }
    });
    if (!owned.nexthopIds || !nexthopsOut || nexthopsOut.exitCode !== 0)
      return { links, rules, routes, fdb, ...(owned.nexthopIds ? { nexthops: EMPTY_NEXTHOPS } : {}) };
    return { links, rules, routes, fdb, nexthops: nexthopsWithin(parseNexthops(nexthopsOut.stdout), owned.nexthopIds) };
  }

  async apply(ops: readonly NetOp[]): Promise<void> {
    const ip: string[] = [];
    const bridge: string[] = [];
    for (const o of ops) {
      const line = renderOp(o);
      if (o.op === "fdb-append" || o.op === "fdb-del") bridge.push(line);
      else ip.push(line);
    }
    const runIp = () => (ip.length ? this.#run.run("ip", ["-force", "-batch", "-"], { input: `${ip.join("\n")}\n` }) : undefined);
    const runBridge = () => (bridge.length ? this.#run.run("bridge", ["-force", "-batch", "-"], { input: `${bridge.join("\n")}\n` }) : undefined);
    // FDB entries need their device: when links come or go, ip first (links, addrs, rules, routes),
    // then bridge; otherwise both at once (a gateway moving to another remote gateway: its route and FDB entry).
    if (ops.some((o) => o.op === "link-add" || o.op === "link-del")) {
      await runIp();
      await runBridge();
    } else await Promise.all([runIp(), runBridge()]);
  }

  async interfaceOf(ip: string): Promise<Underlay | undefined> {
    const links = parseJson<JsonLink>((await this.#run.run("ip", ["-json", "-4", "address", "show"])).stdout);
    for (const l of links) {
      const a = (l.addr_info ?? []).find((x) => x.local === ip);
      if (a) return { dev: l.ifname, mtu: l.mtu, prefix: a.prefixlen };
    }
    return undefined;
  }

  async mtuTowards(dst: string): Promise<{ dev: string; mtu: number; src: string }> {
    const r = parseJson<{ dev: string; prefsrc: string }>((await this.#run.run("ip", ["-json", "route", "get", dst])).stdout)[0];
    if (!r) throw new HostStateError(`no route to ${dst}`);
    const l = parseJson<JsonLink>((await this.#run.run("ip", ["-json", "link", "show", "dev", r.dev])).stdout)[0];
    return { dev: r.dev, mtu: l?.mtu ?? 1500, src: r.prefsrc };
  }
}

function toObservedLink(l: JsonLink): ObservedLink {
  const d = l.linkinfo?.info_data ?? {};
  return {
    name: l.ifname,
    vni: d.id ?? -1,
    port: d.port ?? -1,
    local: d.local ?? "",
    remote: d.remote,
    mtu: l.mtu,
    addr: "",
    addrs: (l.addr_info ?? []).filter((a) => a.family === "inet").map((a) => `${a.local}/${a.prefixlen}`),
    up: (l.flags ?? []).includes("UP"),
  };
}

/** The route as ours ([route]) when it is a unicast route in an owned table, else []. */
function toOwnedRoute(r: JsonRoute, tables: readonly number[]): Route[] {
  const table = Number(r.table ?? 254);
  if (!tables.includes(table) || (r.type && r.type !== "unicast")) return [];
  const dst = r.dst.includes("/") ? r.dst : `${r.dst}/32`;
  // Through a next-hop object: the object says where (its members' device stands for the route's).
  if (r.nhid !== undefined) return [{ table, dst, dev: r.dev ?? r.nexthops?.[0]?.dev ?? "", nhid: r.nhid, src: r.prefsrc }];
  return [{ table, dst, dev: r.dev ?? "", via: r.gateway, src: r.prefsrc, onlink: (r.flags ?? []).includes("onlink") }];
}

/** A route as a line of `ip -batch` input. */
function renderRoute(verb: "del" | "replace", r: Route): string {
  const src = r.src ? ` src ${r.src}` : "";
  if (r.nhid !== undefined) return `route ${verb} ${r.dst} nhid ${r.nhid}${src} table ${r.table}`;
  const via = r.via ? ` via ${r.via}` : "";
  return `route ${verb} ${r.dst}${via} dev ${r.dev}${src}${r.onlink ? " onlink" : ""} table ${r.table}`;
}

/** One op as a line of `ip -batch` / `bridge -batch` input. */
export function renderOp(o: NetOp): string {
  switch (o.op) {
    case "link-del":
      return `link del ${o.name}`;
    case "link-add": {
      const l = o.link;
      const remote = l.remote ? ` remote ${l.remote}` : "";
      const mac = l.mac ? ` address ${l.mac}` : "";
      return `link add ${l.name}${mac} mtu ${l.mtu} type vxlan id ${l.vni} dstport ${l.port} local ${l.local}${remote}`;
    }
    case "link-mtu":
      return `link set ${o.name} mtu ${o.mtu} up`;
    case "addr-flush":
      return `address flush dev ${o.name}`;
    case "addr-add":
      return `address replace ${o.addr} dev ${o.name}\nlink set ${o.name} up`;
    case "fdb-append":
      // A MAC entry the kernel may have learned already (without the port) is replaced; zero-MAC entries are one list per device, appended to.
      return `fdb ${o.entry.mac ? "replace" : "append"} ${o.entry.mac ?? ZERO_MAC} dev ${o.entry.dev} dst ${o.entry.dst}${o.entry.port ? ` port ${o.entry.port}` : ""}`;
    case "fdb-del":
      return `fdb del ${o.entry.mac ?? ZERO_MAC} dev ${o.entry.dev} dst ${o.entry.dst}${o.entry.port ? ` port ${o.entry.port}` : ""}`;
    case "rule-add":
    case "rule-del": {
      const from = o.rule.src ? ` from ${o.rule.src}` : "";
      const mark = o.rule.fwmark ? ` fwmark ${hexMark(o.rule.fwmark.mark)}/${hexMark(o.rule.fwmark.mask)}` : "";
      return `rule ${o.op === "rule-add" ? "add" : "del"} pref ${o.rule.priority}${from}${mark} table ${o.rule.table}`;
    }
    case "route-replace":
    case "route-del":
      return renderRoute(o.op === "route-del" ? "del" : "replace", o.route);
    case "nexthop":
      return renderNexthopOp(o.nh);
    default:
      return o satisfies never;
  }
}

/** In-memory Net for unit tests: records applied batches, can be told to fail. */
export class FakeNet implements Net {
  state: ObservedState = { links: [], routes: [], rules: [], fdb: [] };
  readonly applied: NetOp[][] = [];
  failNext: Error | undefined;
  mtu = 1500;

  async observe(owned: Ownership): Promise<ObservedState> {
    const s = this.state;
    return {
      links: s.links.filter((l) => owned.links.includes(l.name)),
      routes: s.routes.filter((r) => owned.tables.includes(r.table)),
      rules: s.rules.filter((r) => owned.rulePriorities.includes(r.priority)),
      fdb: s.fdb.filter((e) => owned.links.includes(e.dev)),
      ...(owned.nexthopIds ? { nexthops: nexthopsWithin(s.nexthops, owned.nexthopIds) } : {}),
    };
  }

  async apply(ops: readonly NetOp[]): Promise<void> {
    if (this.failNext) {
      const e = this.failNext;
      this.failNext = undefined;
      throw e;
    }
    this.applied.push([...ops]);
    this.state = applyOps(this.state, ops);
  }

  async mtuTowards(_dst: string): Promise<{ dev: string; mtu: number; src: string }> {
    return { dev: "eth0", mtu: this.mtu, src: "198.18.0.1" };
  }

  async interfaceOf(_ip: string): Promise<Underlay | undefined> {
    return { dev: "eth0", mtu: this.mtu, prefix: 24 };
  }
}
