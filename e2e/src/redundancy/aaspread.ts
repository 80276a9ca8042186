/**
 * The active-active e2e's (activeactive.test.ts) measures of where flows go: the pods the flows run
 * between, each gateway's share of the cable bytes, the client's route-agent group, and what each
 * gateway's metrics and `causeway show gateways` say it carries. Test code.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { METRICS_PORTS, ProcessRunner } from "@causeway/common";
import { cableBytesOf, cableDelta, groupBuckets, type Lab, REPO_ROOT, tcpFlows, until } from "@causeway/lab";

/** The pods the flows run between: on the last node of c1 and of c2, a node without a gateway. */
export function ends(lab: Lab): { client: string; server: string } {
  const last = (id: string) => `${id}/${lab.cluster(id).spec.nodes.at(-1)?.name ?? ""}/p0`;
  return { client: last("c1"), server: last("c2") };
}

/** Each long TCP flow's rate during a failure (16 of them: 320 Mbit/s). */
export const FLOW_MBIT = 20;

/** GET http://127.0.0.1:<port><path> from inside a lab namespace: the body. */
export async function httpIn(ns: string, port: number, path: string): Promise<string> {
  const script = `const r = await fetch("http://127.0.0.1:${port}${path}"); console.log(await r.text());`;
  return (await new ProcessRunner(10_000).run("ip", ["netns", "exec", ns, process.execPath, "--input-type=module", "-e", script])).stdout;
}

/** Pure: each target's share of the bytes all of them carried (`dir`: rx or tx), as "c1/n0 52 %, …". */
export function shares(delta: Record<string, { rx: number; tx: number }>, targets: readonly string[], dir: "rx" | "tx"): Map<string, number> {
  const total = targets.reduce((s, t) => s + (delta[t]?.[dir] ?? 0), 0);
  return new Map(targets.map((t) => [t, total ? (delta[t]?.[dir] ?? 0) / total : 0]));
}
export const shown = (m: Map<string, number>) => [...m].map(([t, v]) => `${t} ${Math.round(v * 100)} %`).join(", ");

/**
 * A gateway that comes back gets only the buckets of the route agents' resilient groups that have
 * been idle for their idle timer (NEXTHOP_IDLE_S, 60 s): buckets moved off it when it failed count
 * as busy from that moment. A failure round waits up to this long for each gateway to hold a
 * fair share again, so probes on fresh ports land on both.
 */
const REBALANCE_MS = 75_000;

/**
 * Waits until the route agent of the client's node spreads its flows over `n` local gateways (the
 * members of its resilient next-hop group: a returned gateway's Endpoint reaches the route agents
 * a moment after the gateway reports its cables connected); `balanced`: and until each member holds
 * at least half its even share of the buckets (printing how long that took).
 */
export async function groupOf(lab: Lab, n: number, balanced = false): Promise<void> {
  let seen = "none";
  const node = ends(lab).client.split("/").slice(0, 2).join("/");
  const started = performance.now();
  await until(
    `${node}'s route agent spreads over ${n} gateways${balanced ? ", each holding its share of the buckets" : ""}`,
    async () => {
      const g = await groupBuckets(lab, node);
      if (!g) return undefined;
      const counts = g.members.map((m) => g.counts.get(m) ?? 0);
      const total = counts.reduce((a, b) => a + b, 0);
      seen = `${g.members.length} members holding ${counts.join("/")} buckets`;
      if (g.members.length !== n) return undefined;
      return !balanced || counts.every((c) => c * 2 * n >= total) ? true : undefined;
    },
    balanced ? REBALANCE_MS : 10_000,
  ).catch(() => assert.fail(`${node}'s route agent: ${seen}, not ${n}${balanced ? " members each holding its share" : ""}`));
  const waited = Math.round(performance.now() - started);
  if (balanced && waited > 1000) console.log(`# ${node}: the group's buckets balanced over ${n} gateways after ${waited} ms (${seen})`);
}

/** 16 TCP flows client → server for `seconds`; the c1 gateways' share of what they sent and the c2 gateways' of what they received. */
export async function spread(lab: Lab, c1: readonly string[], c2: readonly string[], seconds = 3) {
  const before = await cableBytesOf(lab, [...c1, ...c2]);
  const { client, server } = ends(lab);
  const flows = await tcpFlows(lab, client, server, { streams: 16, seconds });
  const delta = cableDelta(before, await cableBytesOf(lab, [...c1, ...c2]));
  return { flows, local: shares(delta, c1, "tx"), remote: shares(delta, c2, "rx") };
}

/** `causeway show gateways` of cluster `id` (text, or -o json): from the lab's broker, or (Kubernetes tier) the cluster's own API. */
export async function showGateways(lab: Lab, id: string, json: boolean): Promise<string> {
  const kc = lab.state.kube?.apis[id]?.kubeconfig;
  const from = kc ? ["--kubeconfig", kc] : ["--lab", lab.state.name];
  const r = await new ProcessRunner(30_000).run(process.execPath, [
    join(REPO_ROOT, "cli/src/main.ts"),
    "show",
    "gateways",
    ...from,
    ...(json ? ["-o", "json"] : []),
  ]);
  if (kc) return r.stdout;
  // The broker holds every cluster: keep `id`'s.
  if (!json) return r.stdout.split(/^(?=Cluster ")/m).find((part) => part.startsWith(`Cluster "${id}"`)) ?? "";
  const all = JSON.parse(r.stdout) as { clusters: { id: string }[] };
  return JSON.stringify({ clusters: all.clusters.filter((c) => c.id === id) });
}

/**
 * While 16 long flows run, each of `gateways` reports flows it carries in its metrics
 * (causeway_gateway_flows, conntrack), and `causeway show gateways` says so for each of its
 * cluster's active gateways (FLOWS, RX, TX; from the Gateway status, refreshed every 5 s).
 */
export async function flowsInMetrics(lab: Lab, gateways: readonly string[]): Promise<void> {
  const { client, server } = ends(lab);
  // Long enough for the metrics (up to 5 s) and then the status (up to 5 s more: a pass's write keeps the last figures).
  const running = tcpFlows(lab, client, server, { streams: 16, seconds: 14, mbitEach: FLOW_MBIT });
  try {
    for (const g of gateways) {
      let m = "";
      const flows = () => Number(/^causeway_gateway_flows(?:\{[^}]*\})? (\d+)$/m.exec(m)?.[1] ?? 0);
      await until(
        `${g}'s flows in its metrics`,
        async () => {
          m = await httpIn(lab.resolve(g).ns, METRICS_PORTS.gateway, "/metrics");
          return flows() > 0 ? true : undefined;
        },
        7000,
      ).catch(() => assert.fail(`${g} reports ${flows()} flows`));
      console.log(`# ${g}: causeway_gateway_flows ${flows()}`);
    }
    for (const id of new Set(gateways.map((g) => g.split("/")[0] ?? ""))) {
      const nodes = gateways.filter((g) => g.startsWith(`${id}/`)).map((g) => g.split("/")[1]);
      type Shown = { clusters: { gateways?: { hostname: string; haStatus: string; traffic?: { flows?: number; txBytes: number } }[] }[] };
      let seen = "";
      let text = "";
      const rows = (t: string) =>
        /^NODE +HA STATUS +FLOWS +RX +TX +SUMMARY$/m.test(t) &&
        nodes.every((n) => new RegExp(`^${n} +active +[1-9]\\d* +[\\d.]+ [KMGT]?i?B +[\\d.]+ [KMGT]?i?B +`, "m").test(t));
      // JSON and text from the same moment on: a gateway that stepped down for a moment (an API server slow under load) is waited out.
      await until(
        `show gateways: every active gateway of ${id} carries flows`,
        async () => {
          const gws = (JSON.parse(await showGateways(lab, id, true)) as Shown).clusters[0]?.gateways ?? [];
          seen = JSON.stringify(gws.map((g) => [g.hostname, g.haStatus, g.traffic]));
          const carrying = gws.filter((g) => g.haStatus === "active" && (g.traffic?.flows ?? 0) > 0 && (g.traffic?.txBytes ?? 0) > 0);
          if (!nodes.every((n) => carrying.some((g) => g.hostname === n))) return undefined;
          text = await showGateways(lab, id, false);
          return rows(text) ? true : undefined;
        },
        8000,
      ).catch(() => assert.fail(`show gateways of ${id}: ${seen}\n${text}`));
      console.log(`# causeway show gateways (${id}):\n${text.trim()}`);
    }
  } finally {
    await running;
  }
}
