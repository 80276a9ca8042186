/**
 * npm run bench:dataplane — iperf3 throughput of (a) the raw underlay between the two gateway
 * nodes, (b) a hand-built kernel VXLAN between the same nodes, (c) the Causeway cable pod↔pod on
 * the gateway nodes, (d) pod↔pod on non-gateway nodes across clusters, with the route agent in
 * each intra-cluster mode (vxlan, direct); ratios c/b and d/c; the route agent's full reconcile
 * time with 1000 remote CIDRs; route agent resident memory. Every throughput is the median of
 * BENCH_RUNS (default 3) interleaved runs: on a 2-core machine single runs vary by ±15%.
 * Prints figures; not a test.
 */
import { readFileSync } from "node:fs";
import type { Endpoint } from "@causeway/api";
import { type CommandRunner, host, NetnsRunner, ProcessRunner, type RunOptions } from "@causeway/common";
import { Lab } from "@causeway/lab";
import { desiredState, OWNERSHIP } from "@causeway/route-agent";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 6);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const NAME = "cwbench";

const median = (xs: readonly number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] ?? 0;

/** Runs each named measurement RUNS times, round-robin, and returns the medians. */
async function interleaved(ms: Record<string, () => Promise<number>>): Promise<Record<string, { median: number; runs: number[] }>> {
  const runs: Record<string, number[]> = {};
  for (let i = 0; i < RUNS; i++) {
    for (const [k, m] of Object.entries(ms)) (runs[k] ??= []).push(await m());
  }
  return Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, { median: median(v), runs: v }]));
}

let nextPort = 5201;
async function iperf(lab: Lab, server: string, client: string, ip: string): Promise<number> {
  const port = nextPort++;
  await lab.exec(server, ["iperf3", "-s", "-D", "-1", "-p", String(port)]);
  await new Promise((r) => setTimeout(r, 300));
  const r = await lab.exec(client, ["iperf3", "-c", ip, "-p", String(port), "-t", String(SECONDS), "-J"], (SECONDS + 15) * 1000);
  const j = JSON.parse(r.stdout) as { end?: { sum_received?: { bits_per_second: number } }; error?: string };
  if (!j.end?.sum_received) throw new Error(`iperf3 ${client} → ${ip}: ${j.error ?? r.stderr}`);
  return j.end.sum_received.bits_per_second / 1e9;
}

async function handBuiltVxlan(lab: Lab, on: boolean): Promise<void> {
  const a = lab.resolve("c1");
  const b = lab.resolve("c2");
  const run = new ProcessRunner();
  const side = async (ns: string, local: string, remote: string, addr: string) => {
    const lines = on
      ? [
          `link add vxbench type vxlan id 2000 dstport 4789 local ${local} remote ${remote}`,
          "link set vxbench mtu 1450 up",
          `address add ${addr}/30 dev vxbench`,
        ]
      : ["link del vxbench"];
    await run.run("ip", ["-n", ns, "-batch", "-"], { input: `${lines.join("\n")}\n`, allowFailure: !on });
  };
  await side(a.ns, a.ip, b.ip, "198.19.250.1");
  await side(b.ns, b.ip, a.ip, "198.19.250.2");
}

/**
 * (b′, d′): the pods of (c) and (d) over the hand-built VXLAN with plain routes (non-gateway
 * nodes route straight to their gateway) and one masquerade exemption per node — what wiring
 * the two clusters by hand gives. Causeway's processes are paused and its rules, policy rules
 * and chain jumps removed on every node first; the lab is torn down afterwards.
 */
async function handBuiltPodPath(lab: Lab): Promise<() => void> {
  const run = new ProcessRunner();
  const paused = lab.processStatus().filter((p) => p.role.startsWith("gateway/") || p.role.startsWith("route-agent/"));
  for (const p of paused) process.kill(p.pid, "SIGSTOP");
  const resume = () => {
    for (const p of paused) process.kill(p.pid, "SIGCONT");
  };
  const sides = [
    { c: lab.state.clusters[0], peer: "198.19.250.2" },
    { c: lab.state.clusters[1], peer: "198.19.250.1" },
  ];
  for (const [i, { c, peer }] of sides.entries()) {
    const other = sides[1 - i]?.c;
    if (!c || !other) throw new Error("bench needs two clusters");
    const gw = c.spec.nodes.find((n) => n.gateway);
    for (const n of c.spec.nodes) {
      const ns = lab.resolve(`${c.spec.id}/${n.name}`).ns;
      const saved = (await run.run("ip", ["netns", "exec", ns, "iptables-save"])).stdout;
      const kept = saved.split("\n").filter((l) => !l.includes("CAUSEWAY"));
      const natAt = kept.indexOf("*nat");
      kept.splice(kept.indexOf(":POSTROUTING ACCEPT [0:0]", natAt) + 1, 0, `-A POSTROUTING -s ${c.spec.podCidr} -d ${other.spec.podCidr} -j ACCEPT`);
      await run.run("ip", ["netns", "exec", ns, "iptables-restore"], { input: kept.join("\n") });
      const route = n.gateway ? `route replace ${other.spec.podCidr} via ${peer} dev vxbench` : `route replace ${other.spec.podCidr} via ${gw?.lanIp}`;
      await run.run("ip", ["-n", ns, "-batch", "-"], { input: `rule del priority ${n.gateway ? 100 : 150}\n${route}\n` });
    }
  }
  return resume;
}

async function reconcileBench(): Promise<{ first: number; resync: number; change: number }> {
  const base = new ProcessRunner(30_000);
  const ns = `cwbench-ra-${process.pid}`;
  await base.run("ip", ["netns", "add", ns]);
  try {
    const run = new NetnsRunner(base, ns);
    await run.run("ip", ["link", "add", "eth0", "type", "veth", "peer", "name", "eth1"]);
    await run.run("ip", ["address", "add", "198.19.1.11/24", "dev", "eth0"]);
    await run.run("ip", ["link", "set", "eth0", "up"]);
    const adapters = host.realHostAdapters(run);
    const r = new host.HostReconciler(adapters, OWNERSHIP);
    const nodes = [0, 1].map((k) => ({ name: `n${k}`, ip: `198.19.1.${10 + k}`, podCIDR: `10.1.${k}.0/24`, gateway: k === 0 }));
    const remote = (count: number): Endpoint[] =>
      Array.from({ length: count }, (_, i) => ({
        cluster_id: `r${i}`,
        cable_name: `causeway-cable-r${i}`,
        healthCheckIP: "",
        hostname: "n0",
        subnets: [`10.${20 + Math.floor(i / 250)}.${i % 250}.0/24`],
        private_ip: "198.18.9.9",
        public_ip: "",
        nat_enabled: false,
        backend: "vxlan",
        backend_config: {},
      }));
    const local: Endpoint = { ...(remote(1)[0] as Endpoint), cluster_id: "c1", subnets: ["10.1.0.0/16"] };
    const input = (n: number) => ({
      node: nodes[1] as (typeof nodes)[1],
      nodes,
      localCidrs: ["10.1.0.0/16", "10.101.0.0/16"],
      localEndpoints: [local],
      remoteEndpoints: remote(n),
      underlay: { dev: "eth0", mtu: 1500, prefix: 24 },
    });
    const first = (await r.reconcile(desiredState(input(1000)))).durationMs;
    const resync = (await r.reconcile(desiredState(input(1000)))).durationMs;
    const change = (await r.reconcile(desiredState(input(999)))).durationMs;
    return { first, resync, change };
  } finally {
    await base.run("ip", ["netns", "del", ns], { allowFailure: true });
  }
}

const f = (g: { median: number; runs: number[] } | undefined) =>
  g ? `${g.median.toFixed(2)} Gbit/s   (runs: ${g.runs.map((x) => x.toFixed(2)).join(", ")})` : "n/a";

/** One lab per intra-cluster mode; the vxlan lab also measures the underlay and the hand-built VXLAN. */
async function measure(mode: "vxlan" | "direct") {
  await Lab.down(NAME);
  const lab = await Lab.up({ name: NAME, clusters: 2, nodes: 3, intraCluster: mode });
  try {
    await lab.waitConnected();
    const gw2 = lab.resolve("c2");
    const pods = {
      c: () => iperf(lab, "c2/n0/p0", "c1/n0/p0", lab.resolve("c2/n0/p0").ip),
      d: () => iperf(lab, "c2/n1/p0", "c1/n1/p0", lab.resolve("c2/n1/p0").ip),
    };
    let r: Record<string, { median: number; runs: number[] }>;
    if (mode === "vxlan") {
      await handBuiltVxlan(lab, true);
      r = await interleaved({ a: () => iperf(lab, "c2/n0", "c1/n0", gw2.ip), b: () => iperf(lab, "c2/n0", "c1/n0", "198.19.250.2"), ...pods });
      const resume = await handBuiltPodPath(lab);
      try {
        Object.assign(r, await interleaved({ bPods: pods.c, dPods: pods.d }));
      } finally {
        resume();
      }
    } else {
      r = await interleaved(pods);
    }
    const agent = lab.state.clusters[0]?.processes.find((p) => p.role === "route-agent/n1");
    const rss = agent ? Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${agent.pid}/status`, "utf8"))?.[1] ?? 0) / 1024 : 0;
    return { t: r, rss, gateways: `${lab.resolve("c1").ip} ↔ ${gw2.ip}` };
  } finally {
    await Lab.down(NAME);
  }
}

/**
 * Runs commands in a namespace from a session of their own (`setsid`). Linux groups CPU time by
 * session (autogroup scheduling): each gateway's wireguard-go runs in its gateway's session, so the
 * hand-built daemons get one session each too. Started from the benchmark's own session, both
 * would share one CPU group with the iperf3 client, a scheduling the cable cannot have (measured:
 * 8–10% more throughput, from scheduling alone).
 */
class OwnSessionRunner implements CommandRunner {
  readonly #inner: CommandRunner;
  readonly #ns: string;
  constructor(inner: CommandRunner, ns: string) {
    this.#inner = inner;
    this.#ns = ns;
  }
  run(file: string, args: readonly string[], opts?: RunOptions) {
    return this.#inner.run("setsid", ["--wait", "ip", "netns", "exec", this.#ns, file, ...args], opts);
  }
}

/** A hand-built wireguard-go tunnel between the two gateway nodes, as an operator would wire it (same MTU, keepalive and preshared key as the cable). */
async function handBuiltWireGuard(lab: Lab): Promise<string> {
  const run = new ProcessRunner();
  const sides = [lab.resolve("c1"), lab.resolve("c2")];
  const keys = sides.map(() => host.generateWgKeyPair());
  const psk = host.generateWgKeyPair().privateKey;
  for (const [i, side] of sides.entries()) {
    const wg = new host.WgTools(new OwnSessionRunner(run, side.ns));
    const name = `${NAME}hb${i + 1}`;
    const peer = sides[1 - i];
    const me = keys[i];
    const them = keys[1 - i];
    if (!peer || !me || !them) throw new Error("bench needs two gateways");
    await wg.ensure(name, 1500 - 60);
    await wg.configure(name, {
      privateKey: me.privateKey,
      listenPort: 51820,
      peers: [{ publicKey: them.publicKey, presharedKey: psk, endpoint: `${peer.ip}:51820`, allowedIps: [`198.19.251.${2 - i}/32`], keepaliveSeconds: 10 }],
    });
    await run.run("ip", ["-n", side.ns, "address", "add", `198.19.251.${i + 1}/30`, "dev", name]);
  }
  return "198.19.251.2";
}

/** The WireGuard cable: Causeway's vs hand-built between the same gateway nodes, and the non-gateway path vs the gateway path. */
async function measureWireGuard() {
  await Lab.down(NAME);
  const lab = await Lab.up({ name: NAME, clusters: 2, nodes: 3, cable: "wireguard" });
  try {
    await lab.waitConnected();
    const hand = await handBuiltWireGuard(lab);
    const r = await interleaved({
      // Node to node: c2's gateway node answers on its CNI address (in c2's pod CIDR, so through the cable, ending on that node).
      cNode: () => iperf(lab, "c2/n0", "c1/n0", "10.2.0.1"),
      bHand: () => iperf(lab, "c2/n0", "c1/n0", hand),
      c: () => iperf(lab, "c2/n0/p0", "c1/n0/p0", lab.resolve("c2/n0/p0").ip),
      d: () => iperf(lab, "c2/n1/p0", "c1/n1/p0", lab.resolve("c2/n1/p0").ip),
    });
    return r;
  } finally {
    // Deleting the devices ends their wireguard-go daemons cleanly (no stale control sockets), then the lab goes.
    const run = new ProcessRunner();
    for (const [i, id] of ["c1", "c2"].entries()) await run.run("ip", ["-n", lab.resolve(id).ns, "link", "del", `${NAME}hb${i + 1}`], { allowFailure: true });
    await Lab.down(NAME);
  }
}

/** BENCH_PARTS=wireguard (comma-separated: vxlan, direct, wireguard, reconcile) runs only those parts. */
const PARTS = new Set((process.env.BENCH_PARTS ?? "vxlan,direct,wireguard,reconcile").split(","));
const none = { t: {} as Record<string, { median: number; runs: number[] } | undefined>, rss: 0, gateways: "" };
const vx = PARTS.has("vxlan") ? await measure("vxlan") : none;
const direct = PARTS.has("direct") ? await measure("direct") : none;
const wg: Record<string, { median: number; runs: number[] } | undefined> = PARTS.has("wireguard") ? await measureWireGuard() : {};
const rec = PARTS.has("reconcile") ? await reconcileBench() : { first: Number.NaN, resync: Number.NaN, change: Number.NaN };
const ratio = (x?: { median: number }, y?: { median: number }) => (x && y ? (x.median / y.median).toFixed(3) : "n/a");
if (PARTS.has("vxlan")) {
  console.log(`\nCauseway dataplane benchmark (iperf3, 1 stream, ${SECONDS} s per run, median of ${RUNS} interleaved runs; gateways ${vx.gateways})`);
  console.log(`(a) raw underlay, gateway node ↔ gateway node                 ${f(vx.t.a)}`);
  console.log(`(b) hand-built kernel VXLAN, same two nodes                   ${f(vx.t.b)}`);
  console.log(`(b′) hand-built VXLAN, pod on gw node ↔ pod on gw node        ${f(vx.t.bPods)}`);
  console.log(`(c) Causeway cable, pod on gw node ↔ pod on gw node           ${f(vx.t.c)}`);
  console.log(`(d) pod on non-gw node ↔ pod on non-gw node, intraCluster vxlan   ${f(vx.t.d)}`);
  console.log(`    same cable, intraCluster direct: (c) ${f(direct.t.c)}`);
  console.log(`                                     (d) ${f(direct.t.d)}`);
  console.log(`c/b = ${ratio(vx.t.c, vx.t.b)}   (target ≥ 0.95)    c/b′ = ${ratio(vx.t.c, vx.t.bPods)}   (same pods, hand-built tunnel: Causeway's own cost)`);
  console.log(`(d′) hand-built: non-gw pod → own gateway by plain route → hand-built VXLAN → non-gw pod   ${f(vx.t.dPods)}`);
  console.log(
    `d/c = ${ratio(vx.t.d, vx.t.c)} with intraCluster vxlan, ${ratio(direct.t.d, direct.t.c)} with intraCluster direct   (target ≥ 0.85)    hand-built d′/b′ = ${ratio(vx.t.dPods, vx.t.bPods)}`,
  );
  console.log(`route agent resident memory (c1/n1, running in the lab): ${vx.rss.toFixed(1)} MiB (vxlan), ${direct.rss.toFixed(1)} MiB (direct)`);
}
if (PARTS.has("wireguard")) {
  console.log(`WireGuard (${process.env.CAUSEWAY_WIREGUARD_GO || "wireguard-go"}; this kernel has no module):`);
  console.log(`(b_wg) hand-built wireguard-go tunnel, gateway node ↔ gateway node     ${f(wg.bHand)}`);
  console.log(`(c_wg) Causeway WireGuard cable, gateway node ↔ gateway node            ${f(wg.cNode)}`);
  console.log(`(c_wg pods) Causeway WireGuard cable, pod on gw node ↔ pod on gw node   ${f(wg.c)}`);
  console.log(`(d_wg) pod on non-gw node ↔ pod on non-gw node                         ${f(wg.d)}`);
  console.log(`c_wg/b_wg = ${ratio(wg.cNode, wg.bHand)}   (target ≥ 0.95)    d_wg/c_wg pods = ${ratio(wg.d, wg.c)}   (target ≥ 0.85)`);
}
if (PARTS.has("reconcile")) {
  console.log(
    `route agent reconcile, 1000 remote CIDRs: first ${rec.first.toFixed(0)} ms, no-change resync ${rec.resync.toFixed(0)} ms, one CIDR removed ${rec.change.toFixed(0)} ms   (target ≤ 200 ms)`,
  );
}
