/**
 * The source guard: cross-cluster flows keep their pod source address against masquerades that
 * Causeway's iptables ACCEPT cannot skip — those in nftables tables of their own (kube-proxy's
 * nftables mode marks traffic from outside its cluster CIDR for masquerade; CNIs on nftables).
 * nftables evaluates every table's postrouting NAT chain, so an ACCEPT in one does not stop
 * another; but the kernel sets up a connection's source NAT once, in the first chain that does
 * it. An identity SNAT (to the packet's own source) in a chain of priority srcnat - 10 is that
 * first one: every later masquerade of the flow is skipped, and the address is unchanged.
 */
import type { CommandRunner } from "../exec/index.ts";

export const NAT_GUARD_TABLE = "causeway";

/** The flows guarded: between the local cluster's CIDRs and the remote clusters', both ways. */
export interface NatGuardSpec {
  readonly local: readonly string[];
  readonly remote: readonly string[];
}

/** The guard's table as it is: its two sets, and whether its chain holds exactly the guard's rules. */
export interface ObservedNatGuard extends NatGuardSpec {
  readonly rulesIntact: boolean;
}

export interface NatGuard {
  /** The table's state, set members sorted; undefined when it does not exist. */
  observe(): Promise<ObservedNatGuard | undefined>;
  /** Replaces the table atomically with the spec's (undefined: deletes it). */
  apply(spec: NatGuardSpec | undefined): Promise<void>;
}

const sorted = (xs: readonly string[]) => [...new Set(xs.map((x) => (x.includes("/") ? x : `${x}/32`)))].sort();

/** Pure: whether the observed table already is the spec's. */
export function natGuardMatches(spec: NatGuardSpec | undefined, observed: ObservedNatGuard | undefined): boolean {
  if (!spec || !observed) return !spec && !observed;
  return observed.rulesIntact && sorted(spec.local).join() === sorted(observed.local).join() && sorted(spec.remote).join() === sorted(observed.remote).join();
}

const GUARD_RULES = ["ip saddr @local ip daddr @remote snat ip to ip saddr", "ip saddr @remote ip daddr @local snat ip to ip saddr"];

/** Pure: the `nft -f` script that (re)creates the table (one transaction: created if absent, deleted, made anew), or deletes it. */
export function renderNatGuard(spec: NatGuardSpec | undefined): string {
  const head = [`table ip ${NAT_GUARD_TABLE}`, `delete table ip ${NAT_GUARD_TABLE}`];
  if (!spec) return `${head.join("\n")}\n`;
  const set = (name: string, members: readonly string[]) => [
    `  set ${name} {`,
    "    type ipv4_addr",
    "    flags interval",
    ...(members.length ? [`    elements = { ${sorted(members).join(", ")} }`] : []),
    "  }",
  ];
  return [
    ...head,
    `table ip ${NAT_GUARD_TABLE} {`,
    ...set("local", spec.local),
    ...set("remote", spec.remote),
    "  chain postrouting {",
    "    type nat hook postrouting priority srcnat - 10; policy accept;",
    ...GUARD_RULES.map((r) => `    ${r}`),
    "  }",
    "}",
    "",
  ].join("\n");
}

interface NftJson {
  nftables?: {
    set?: { name: string; table: string; elem?: (string | { prefix: { addr: string; len: number } } | { range: [string, string] })[] };
    rule?: { chain: string; expr: unknown[] };
  }[];
}

/** Pure: the guard's state from `nft -j list table ip causeway`. */
export function parseNatGuard(json: string): ObservedNatGuard {
  const doc = JSON.parse(json) as NftJson;
  const items = doc.nftables ?? [];
  const members = (name: string) =>
    items
      .flatMap((i) => (i.set?.name === name ? (i.set.elem ?? []) : []))
      .map((e) => (typeof e === "string" ? `${e}/32` : "prefix" in e ? `${e.prefix.addr}/${e.prefix.len}` : `${e.range[0]}-${e.range[1]}`));
  const rules = items.filter((i) => i.rule?.chain === "postrouting").map((i) => JSON.stringify(i.rule?.expr));
  // Two rules, each an snat whose address is the packet's source address.
  const intact = rules.length === 2 && rules.every((r) => r.includes('"snat"') && r.includes('"saddr"'));
  return { local: sorted(members("local")), remote: sorted(members("remote")), rulesIntact: intact };
}

export class NftNatGuard implements NatGuard {
  readonly #run: CommandRunner;
  constructor(runner: CommandRunner) {
    this.#run = runner;
  }

  async observe(): Promise<ObservedNatGuard | undefined> {
    const res = await this.#run.run("nft", ["-j", "list", "table", "ip", NAT_GUARD_TABLE], { allowFailure: true });
    if (res.exitCode !== 0) return undefined;
    return parseNatGuard(res.stdout);
  }

  async apply(spec: NatGuardSpec | undefined): Promise<void> {
    await this.#run.run("nft", ["-f", "-"], { input: renderNatGuard(spec) });
  }
}

export class FakeNatGuard implements NatGuard {
  state: ObservedNatGuard | undefined;
  async observe(): Promise<ObservedNatGuard | undefined> {
    return this.state;
  }
  async apply(spec: NatGuardSpec | undefined): Promise<void> {
    this.state = spec ? { local: sorted(spec.local), remote: sorted(spec.remote), rulesIntact: true } : undefined;
  }
}
