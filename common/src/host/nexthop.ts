/**
 * Next-hop objects of the kernel (`ip nexthop`): single next hops (a gateway) and resilient groups
 * over them, which route agents will use to spread remote-bound flows over a cluster's active
 * gateways (docs/architecture.md, active-active). Desired state → pure plan → one `ip -batch`,
 * like the rest of the host; only ids in the owned range are ever changed or removed.
 *
 * Kernel rules the plan keeps (checked by the contract, fake and real): a group needs at least one
 * member and its members must exist first; a member can be changed in place and a group's members
 * too, but not a resilient group's bucket count (the group is made again); deleting a group
 * deletes the routes that use it, deleting a member takes it out of its groups.
 */
import { parseJson } from "./json.ts";
import type { CommandRunner } from "../exec/index.ts";
import { HostStateError } from "../errors.ts";

export interface NexthopMember {
  readonly id: number;
  readonly via: string;
  readonly dev: string;
  /** The next hop is on the device's link though no prefix of the device covers it (a gateway's VTEP). */
  readonly onlink?: boolean;
}

export interface NexthopGroup {
  readonly id: number;
  /** Member ids, each once; at least one. */
  readonly members: readonly number[];
  /** Resilient buckets: a flow keeps its bucket, and a bucket its member while that member lives. */
  readonly buckets: number;
  /** Seconds a bucket must be idle before it moves to a new member (established flows stay). */
  readonly idleTimerS: number;
}

export interface NexthopState {
  readonly members: readonly NexthopMember[];
  readonly groups: readonly NexthopGroup[];
}

/** The ids a reconciler owns (inclusive): nothing outside is changed or removed. */
export interface NexthopIds {
  readonly from: number;
  readonly to: number;
}

export type NexthopOp =
  | { readonly op: "member-replace"; readonly member: NexthopMember }
  | { readonly op: "group-replace"; readonly group: NexthopGroup }
  | { readonly op: "del"; readonly id: number };

export const EMPTY_NEXTHOPS: NexthopState = { members: [], groups: [] };

const sameMember = (a: NexthopMember, b: NexthopMember) => a.via === b.via && a.dev === b.dev && Boolean(a.onlink) === Boolean(b.onlink);
const sameMembers = (a: NexthopGroup, b: NexthopGroup) => [...a.members].sort().join("/") === [...b.members].sort().join("/");

/** Throws naming the problem when `desired` cannot be made (ids outside `owned`, a group without members or with unknown ones). */
export function checkNexthops(desired: NexthopState, owned: NexthopIds): void {
  const ids = [...desired.members.map((m) => m.id), ...desired.groups.map((g) => g.id)];
  const outside = ids.find((id) => id < owned.from || id > owned.to);
  if (outside !== undefined) throw new HostStateError(`next-hop id ${outside} is outside the owned range ${owned.from}-${owned.to}`);
  if (new Set(ids).size !== ids.length) throw new HostStateError(`next-hop ids are not unique: ${ids.join(", ")}`);
  for (const g of desired.groups) {
    if (!g.members.length) throw new HostStateError(`next-hop group ${g.id} has no member (route nothing through it instead)`);
    const unknown = g.members.find((id) => !desired.members.some((m) => m.id === id));
    if (unknown !== undefined) throw new HostStateError(`next-hop group ${g.id} names member ${unknown}, which is not desired`);
  }
}

/**
 * Pure: the operations that take `observed` to `desired` within `owned`, in two parts: `make` —
 * members first (a group's members must exist), then groups (one whose bucket count changed is
 * deleted and made again) — to run before routes are pointed at them, and `remove` — what is no
 * longer desired, groups before members so that no group loses its last member (the kernel would
 * delete the group, and its routes, itself) — to run after routes no longer use them.
 */
export function nexthopPlan(desired: NexthopState, observed: NexthopState, owned: NexthopIds): { make: NexthopOp[]; remove: NexthopOp[] } {
  checkNexthops(desired, owned);
  const mine = (id: number) => id >= owned.from && id <= owned.to;
  const make: NexthopOp[] = [];
  for (const m of desired.members) {
    const now = observed.members.find((x) => x.id === m.id);
    if (!now || !sameMember(now, m)) make.push({ op: "member-replace", member: m });
  }
  for (const g of desired.groups)
    make.push(
      ...groupOps(
        g,
        observed.groups.find((x) => x.id === g.id),
      ),
    );
  const remove: NexthopOp[] = [];
  for (const g of observed.groups) if (mine(g.id) && !desired.groups.some((x) => x.id === g.id)) remove.push({ op: "del", id: g.id });
  for (const m of observed.members) if (mine(m.id) && !desired.members.some((x) => x.id === m.id)) remove.push({ op: "del", id: m.id });
  return { make, remove };
}

/** Pure: `nexthopPlan` in one list (nothing routes through the objects meanwhile). */
export function planNexthops(desired: NexthopState, observed: NexthopState, owned: NexthopIds): NexthopOp[] {
  const { make, remove } = nexthopPlan(desired, observed, owned);
  return [...make, ...remove];
}

/** Pure: what makes group `g` of what is there now: nothing, a replace (members, idle timer), or — its bucket count changed — a delete and a replace. */
function groupOps(g: NexthopGroup, now: NexthopGroup | undefined): NexthopOp[] {
  if (!now) return [{ op: "group-replace", group: g }];
  if (now.buckets !== g.buckets)
    return [
      { op: "del", id: g.id },
      { op: "group-replace", group: g },
    ];
  return sameMembers(now, g) && now.idleTimerS === g.idleTimerS ? [] : [{ op: "group-replace", group: g }];
}

/** Pure: one `ip -batch` line per operation. */
export function renderNexthopOp(o: NexthopOp): string {
  switch (o.op) {
    case "member-replace":
      return `nexthop replace id ${o.member.id} via ${o.member.via} dev ${o.member.dev}${o.member.onlink ? " onlink" : ""}`;
    case "group-replace":
      return `nexthop replace id ${o.group.id} group ${o.group.members.join("/")} type resilient buckets ${o.group.buckets} idle_timer ${o.group.idleTimerS}`;
    case "del":
      return `nexthop del id ${o.id}`;
  }
}

interface JsonNexthop {
  id: number;
  gateway?: string;
  dev?: string;
  flags?: string[];
  group?: { id: number }[];
  type?: string;
  resilient_args?: { buckets: number; idle_timer: number };
}

/** Pure: `ip -json nexthop show`; groups that are not resilient and blackhole next hops are left out (never Causeway's). */
export function parseNexthops(text: string): NexthopState {
  const rows = parseJson<JsonNexthop>(text);
  return {
    members: rows
      .filter((r) => r.gateway && r.dev)
      .map((r) => ({ id: r.id, via: r.gateway ?? "", dev: r.dev ?? "", ...((r.flags ?? []).includes("onlink") ? { onlink: true } : {}) })),
    groups: rows
      .filter((r) => r.group && r.type === "resilient" && r.resilient_args)
      .map((r) => ({
        id: r.id,
        members: (r.group ?? []).map((g) => g.id),
        buckets: r.resilient_args?.buckets ?? 0,
        idleTimerS: r.resilient_args?.idle_timer ?? 0,
      })),
  };
}

/** The host's next-hop objects. */
export interface Nexthops {
  observe(): Promise<NexthopState>;
  apply(ops: readonly NexthopOp[]): Promise<void>;
}

/** Observes, plans and applies: the host then holds `desired` within `owned`. Returns what it did. */
export async function reconcileNexthops(nh: Nexthops, desired: NexthopState, owned: NexthopIds): Promise<NexthopOp[]> {
  const ops = planNexthops(desired, await nh.observe(), owned);
  if (ops.length) await nh.apply(ops);
  return ops;
}

/** The real one: `ip -json nexthop show`, and one `ip -batch` for a plan. */
export class IpNexthops implements Nexthops {
  readonly #run: CommandRunner;
  constructor(run: CommandRunner) {
    this.#run = run;
  }

  async observe(): Promise<NexthopState> {
    return parseNexthops((await this.#run.run("ip", ["-json", "nexthop", "show"])).stdout);
  }

  async apply(ops: readonly NexthopOp[]): Promise<void> {
    await this.#run.run("ip", ["-batch", "-"], { input: `${ops.map(renderNexthopOp).join("\n")}\n` });
  }
}

/**
 * Pure: `ops` applied to `state` the way the kernel does (throwing its errors); `up`: whether a
 * device exists and is up. Also returns the groups that went (deleted, or their last member deleted):
 * the routes through them go with them.
 */
export function applyNexthopOps(state: NexthopState, ops: readonly NexthopOp[], up: (dev: string) => boolean): { state: NexthopState; goneGroups: number[] } {
  const members = new Map(state.members.map((m) => [m.id, m] as const));
  const groups = new Map(state.groups.map((g) => [g.id, g] as const));
  const goneGroups: number[] = [];
  for (const o of ops) {
    if (o.op === "member-replace") {
      if (groups.has(o.member.id)) throw new HostStateError(`Error: Can not replace a nexthop group with a nexthop (id ${o.member.id})`);
      if (!up(o.member.dev)) throw new HostStateError(`Error: Nexthop device is not up (${o.member.dev})`);
      members.set(o.member.id, o.member);
    } else if (o.op === "group-replace") {
      const g = o.group;
      const missing = g.members.find((id) => !members.has(id));
      if (!g.members.length || missing !== undefined) throw new HostStateError(`Error: Invalid nexthop id (${missing ?? "none"})`);
      const now = groups.get(g.id);
      if (now && now.buckets !== g.buckets) throw new HostStateError("Error: Can not change number of buckets of a resilient nexthop group.");
      groups.set(g.id, g);
    } else if (groups.delete(o.id)) {
      goneGroups.push(o.id);
    } else if (members.delete(o.id)) {
      goneGroups.push(...dropMember(groups, o.id));
    } else throw new HostStateError(`RTNETLINK answers: No such file or directory (nexthop ${o.id})`);
  }
  return { state: { members: [...members.values()], groups: [...groups.values()] }, goneGroups };
}

/** Takes member `id` out of every group; returns the groups left without members (deleted). */
export function dropMember(groups: Map<number, NexthopGroup>, id: number): number[] {
  const gone: number[] = [];
  for (const [gid, g] of groups) {
    const rest = g.members.filter((m) => m !== id);
    if (rest.length === g.members.length) continue;
    if (rest.length) groups.set(gid, { ...g, members: rest });
    else {
      groups.delete(gid);
      gone.push(gid);
    }
  }
  return gone;
}

/** In memory, keeping the kernel's rules (applyNexthopOps); `devs` are the devices that exist and are up. */
export class FakeNexthops implements Nexthops {
  state: NexthopState = EMPTY_NEXTHOPS;
  readonly devs: Set<string>;
  /** Ids of groups deleted (by a del, or by losing their last member): their routes are gone too. */
  readonly deletedGroups: number[] = [];
  constructor(devs: readonly string[]) {
    this.devs = new Set(devs);
  }

  async observe(): Promise<NexthopState> {
    return this.state;
  }

  async apply(ops: readonly NexthopOp[]): Promise<void> {
    const r = applyNexthopOps(this.state, ops, (d) => this.devs.has(d));
    this.state = r.state;
    this.deletedGroups.push(...r.goneGroups);
  }
}
