import { type ClustersetNat, type ClustersetNatSpec, clustersetNatDigest } from "./clustersetnat.ts";
import type { IpSets } from "./ipset.ts";
import type { NetOp, NetState, Ownership } from "./model.ts";
import type { Net } from "./net.ts";
import { type NatGuard, type NatGuardSpec, natGuardMatches } from "./natguard.ts";
import { type ChainSpec, type FilterTable, type Hook, type PacketFilter, planFilter } from "./packetfilter.ts";
import { plan } from "./plan.ts";
import type { Sysctl } from "./sysctl.ts";

/** Everything one component wants the host to look like. */
export interface HostDesired {
  readonly net: NetState;
  readonly chains: readonly ChainSpec[];
  readonly sets: ReadonlyMap<string, readonly string[]>;
  readonly sysctls: ReadonlyMap<string, string>;
  /** The source guard (natguard.ts), for components that own it. */
  readonly natGuard?: NatGuardSpec;
  /** Clusterset IPs to endpoints (clustersetnat.ts), for components that own that table. */
  readonly clustersetNat?: ClustersetNatSpec;
}

/** What one component owns on the host: nothing else is ever changed or pruned. */
export interface HostOwnership {
  readonly net: Ownership;
  readonly chains: readonly { table: FilterTable; chain: string; hook: Hook }[];
  readonly sets: readonly string[];
  /** The nftables source guard's table. */
  readonly natGuard?: boolean;
  /** The clusterset IP table. */
  readonly clustersetNat?: boolean;
}

export interface HostAdapters {
  readonly net: Net;
  readonly filter: PacketFilter;
  readonly sets: IpSets;
  readonly sysctl: Sysctl;
  readonly natGuard: NatGuard;
  readonly clustersetNat: ClustersetNat;
}

export interface ReconcileResult {
  readonly netOps: readonly NetOp[];
  readonly filterChanged: boolean;
  readonly natGuardChanged: boolean;
  readonly clustersetNatChanged: boolean;
  readonly durationMs: number;
}

export const EMPTY_DESIRED: HostDesired = {
  net: { links: [], routes: [], rules: [], fdb: [] },
  chains: [],
  sets: new Map(),
  sysctls: new Map(),
};

/**
 * Level-triggered: each call observes the host, plans, and applies only the difference.
 * Safe to call at any time and repeatedly; a call with nothing to change runs no writer process.
 */
export class HostReconciler {
  readonly #a: HostAdapters;
  readonly #owned: HostOwnership;

  constructor(adapters: HostAdapters, owned: HostOwnership) {
    this.#a = adapters;
    this.#owned = owned;
  }

  async reconcile(desired: HostDesired): Promise<ReconcileResult> {
    const t0 = performance.now();
    const { net, filter, sets, sysctl, natGuard, clustersetNat } = this.#a;
    const tables = [...new Set(this.#owned.chains.map((c) => c.table))];
    const [observedNet, observedFilter, observedSets, observedGuard, observedNat] = await Promise.all([
      net.observe(this.#owned.net),
      tables.length ? filter.observe(tables) : Promise.resolve(new Map()),
      this.#owned.sets.length ? sets.observe(this.#owned.sets) : Promise.resolve(new Map<string, Set<string>>()),
      this.#owned.natGuard ? natGuard.observe() : Promise.resolve(undefined),
      this.#owned.clustersetNat ? clustersetNat.observe() : Promise.resolve(undefined),
    ]);
    // Sets first (rules reference them), then rules; sets no longer wanted go after the rules.
    await sets.apply(desired.sets, observedSets);
    const script = planFilter(desired.chains, this.#owned.chains, observedFilter);
    const netOps = plan(desired.net, observedNet, this.#owned.net);
    // A pass that makes a device writes the packet filter first (nothing is routed into a device
    // before the rules that accept its traffic); any other pass writes both at once and waits for
    // the slower, not their sum: iptables-restore takes 0.1 s and more on a busy node, and a
    // withdrawn gateway's flows wait for the routes.
    await writeFilterAndNet(this.#a, script, netOps);
    const stale = [...observedSets.keys()].filter((n) => !desired.sets.has(n));
    if (stale.length) await sets.destroy(stale);
    for (const [k, v] of desired.sysctls) await sysctl.ensure(k, v);
    const guard = this.#owned.natGuard ? desired.natGuard : undefined;
    const natGuardChanged = this.#owned.natGuard === true && !natGuardMatches(guard, observedGuard);
    if (natGuardChanged) await natGuard.apply(guard);
    // After the routes: a clusterset IP is translated only once the way to its endpoints exists.
    const nat = this.#owned.clustersetNat ? desired.clustersetNat : undefined;
    const clustersetNatChanged = this.#owned.clustersetNat === true && (nat ? clustersetNatDigest(nat) : undefined) !== observedNat;
    if (clustersetNatChanged) await clustersetNat.apply(nat, { digest: observedNat });
    return { netOps, filterChanged: script !== "", natGuardChanged, clustersetNatChanged, durationMs: performance.now() - t0 };
  }

  /** Removes everything this component owns (uninstall / leaving the clusterset). */
  async removeAll(): Promise<ReconcileResult> {
    return this.reconcile(EMPTY_DESIRED);
  }
}

/** The packet filter's script and the net ops: in turn when a device is made (the filter first), else at once. */
async function writeFilterAndNet(a: Pick<HostAdapters, "filter" | "net">, script: string, netOps: readonly NetOp[]): Promise<void> {
  if (netOps.some((o) => o.op === "link-add")) {
    await a.filter.restore(script);
    await a.net.apply(netOps);
    return;
  }
  await allOrFirstError([a.filter.restore(script), netOps.length ? a.net.apply(netOps) : Promise.resolve()]);
}

/** Waits for every one of `writes` (none is left running behind a failure), then rejects with the first error. */
async function allOrFirstError(writes: readonly Promise<unknown>[]): Promise<void> {
  const failed = (await Promise.allSettled(writes)).find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;
}
