/**
 * Measuring how cross-cluster traffic spreads over active-active gateways (docs/architecture.md,
 * active-active): each gateway's cable counters, the gateway a flow crosses (its conntrack entry),
 * and iperf3 runs of many TCP flows between pods.
 */
import { host } from "@causeway/common";
import { LabError } from "./errors.ts";
import type { Lab } from "./lab.ts";

/** The VXLAN cable's device (the gateway's VXLAN_CABLE.name; e2e/src/redundancy/activeactive.test.ts checks they agree). */
export const VXLAN_CABLE_DEVICE = "vxlan-tunnel";

/** The WireGuard device a gateway pod makes on a real node (the gateway's WG_CABLE.defaultInterface; the active-active e2e checks they agree). */
export const KUBE_WG_DEVICE = "causeway-wg";

/** Bytes a gateway node's cable devices have carried (received, sent) since they were made. */
export interface CableBytes {
  readonly rx: number;
  readonly tx: number;
}

/**
 * The cable counters of `target` (a gateway node, "c1/n0"): its VXLAN cable device's, or the sum of
 * its WireGuard devices' (one per plane: the node's interface name — on real nodes the gateway
 * pod's, KUBE_WG_DEVICE — and with a suffix -k); zero when it has none.
 */
export async function cableBytes(lab: Lab, target: string): Promise<CableBytes> {
  const [clusterId, node] = target.split("/");
  // Standalone gateways take the lab node's unique name (wireguard-go's sockets are shared); a gateway pod, its default.
  const wg = lab.state.kube ? KUBE_WG_DEVICE : (lab.cluster(clusterId ?? "").spec.nodes.find((n) => n.name === node)?.wgInterface ?? "");
  const mine = (name: string) => name === VXLAN_CABLE_DEVICE || (wg !== "" && (name === wg || name.startsWith(`${wg}-`)));
  const r = await lab.exec(target, ["ip", "-s", "-j", "link", "show"]);
  const links = r.exitCode === 0 ? (JSON.parse(r.stdout) as { ifname: string; stats64?: { rx: { bytes: number }; tx: { bytes: number } } }[]) : [];
  return links
    .filter((l) => mine(l.ifname))
    .reduce((sum, l) => ({ rx: sum.rx + (l.stats64?.rx.bytes ?? 0), tx: sum.tx + (l.stats64?.tx.bytes ?? 0) }), { rx: 0, tx: 0 });
}

/** Each of `targets`' cable counters, by target. */
export async function cableBytesOf(lab: Lab, targets: readonly string[]): Promise<Record<string, CableBytes>> {
  return Object.fromEntries(await Promise.all(targets.map(async (t) => [t, await cableBytes(lab, t)] as const)));
}

/**
 * Pure: what each target carried between two readings (`before`, `after` from cableBytesOf). A
 * counter lower than before means its devices were removed (and maybe made again) in between:
 * what they count now is what they carried since.
 */
export function cableDelta(before: Record<string, CableBytes>, after: Record<string, CableBytes>): Record<string, CableBytes> {
  const since = (now: number, was = 0) => (now >= was ? now - was : now);
  return Object.fromEntries(Object.entries(after).map(([t, a]) => [t, { rx: since(a.rx, before[t]?.rx), tx: since(a.tx, before[t]?.tx) }] as const));
}

/**
 * Pure: `ip -json nexthop bucket show id <group>` of a resilient next-hop group: how many of its
 * buckets each member next hop holds, by the member's id.
 */
export function bucketCounts(json: string): Map<number, number> {
  const counts = new Map<number, number>();
  for (const e of JSON.parse(json || "[]") as { bucket?: { nhid?: number } }[]) {
    const id = e.bucket?.nhid;
    if (id !== undefined) counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

/**
 * The resilient next-hop group on `target` (a node: the route agent's over its cluster's active
 * gateways) and how many buckets each member holds; undefined when the node has no group or the
 * kernel's dump was cut short by a change (ask again). A member that comes (or comes back) gets
 * only buckets idle for the group's idle timer, so right after a failure it may hold few.
 */
export async function groupBuckets(lab: Lab, target: string): Promise<{ members: readonly number[]; counts: Map<number, number> } | undefined> {
  const [group] = host.parseNexthops((await lab.exec(target, ["ip", "-j", "nexthop", "show"])).stdout).groups;
  if (!group) return undefined;
  const r = await lab.exec(target, ["ip", "-j", "nexthop", "bucket", "show", "id", String(group.id)]);
  // "Dump terminated" (the group changed while it was read): no JSON, ask again.
  if (r.exitCode !== 0 || !r.stdout.trim().startsWith("[")) return undefined;
  return { members: group.members, counts: bucketCounts(r.stdout) };
}

/**
 * Which of `gateways` (lab targets) a UDP or TCP flow from source port `sport` to `dst` crosses:
 * the one whose conntrack holds it ("" when none does, e.g. before its first packet).
 */
export async function flowGateway(lab: Lab, gateways: readonly string[], proto: "udp" | "tcp", dst: string, sport: number): Promise<string> {
  for (const g of gateways) {
    const r = await lab.exec(g, ["conntrack", "-L", "-p", proto, "--orig-dst", dst, "--sport", String(sport)]);
    if (r.stdout.includes(`sport=${sport}`)) return g;
  }
  return "";
}

/** What an iperf3 run of several TCP flows reported. */
export interface FlowsResult {
  /** Received by the server, all flows, in bits per second. */
  readonly bitsPerSecond: number;
  /** Each flow's bytes as the client sent them. */
  readonly flowBytes: readonly number[];
  readonly retransmits: number;
}

let nextPort = 5301;

/**
 * Runs `streams` TCP flows from `client` to `server` (lab targets, pods) for `seconds` with iperf3,
 * its server started for this one run, each flow at most `mbitEach` Mbit/s when given; rejects
 * with what iperf3 said when it failed — a flow reset, for one — or did not report every flow.
 */
export async function tcpFlows(lab: Lab, client: string, server: string, o: { streams: number; seconds: number; mbitEach?: number }): Promise<FlowsResult> {
  const port = nextPort++;
  await lab.exec(server, ["iperf3", "-s", "-D", "-1", "-p", String(port)]);
  await new Promise((r) => setTimeout(r, 300));
  const ip = lab.resolve(server).ip;
  const r = await lab.exec(
    client,
    ["iperf3", "-c", ip, "-p", String(port), "-P", String(o.streams), "-t", String(o.seconds), ...(o.mbitEach ? ["-b", `${o.mbitEach}M`] : []), "-J"],
    (o.seconds + 20) * 1000,
  );
  let j: IperfJson;
  try {
    j = JSON.parse(r.stdout) as IperfJson;
  } catch {
    throw new LabError(`iperf3 ${client} → ${server}: no report (exit ${r.exitCode}): ${r.stderr.trim() || r.stdout.slice(0, 300)}`);
  }
  const flows = j.end?.streams ?? [];
  if (j.error || r.exitCode !== 0 || !j.end?.sum_received) throw new LabError(`iperf3 ${client} → ${server}: ${j.error ?? `exit ${r.exitCode}`}`);
  if (flows.length !== o.streams) throw new LabError(`iperf3 ${client} → ${server}: ${flows.length} of ${o.streams} flows reported`);
  return {
    bitsPerSecond: j.end.sum_received.bits_per_second,
    flowBytes: flows.map((s) => s.sender?.bytes ?? 0),
    retransmits: j.end.sum_sent?.retransmits ?? 0,
  };
}

interface IperfJson {
  readonly error?: string;
  readonly end?: {
    readonly streams?: readonly { readonly sender?: { readonly bytes: number } }[];
    readonly sum_received?: { readonly bits_per_second: number };
    readonly sum_sent?: { readonly retransmits?: number };
  };
}
