/**
 * npm run bench:dataplane — iperf3 throughput of (a) the raw underlay between the two gateway
 * nodes, (b) a hand-built kernel VXLAN between the same nodes, (c) the Causeway cable pod↔pod on
 * the gateway nodes, (d) pod↔pod on non-gateway nodes across clusters; ratios c/b and d/c; the
 * route agent's full reconcile time with 1000 remote CIDRs; route agent resident memory.
 * Prints figures; not a test.
 */
import { readFileSync } from "node:fs";
import type { Endpoint } from "@causeway/api";
import { host, NetnsRunner, ProcessRunner } from "@causeway/common";
import { Lab } from "@causeway/e2e";
import { desiredState, OWNERSHIP } from "@causeway/route-agent";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const NAME = "cwbench";

async function iperf(lab: Lab, server: string, client: string, ip: string, port: number): Promise<number> {
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
      ? [`link add vxbench type vxlan id 2000 dstport 4789 local ${local} remote ${remote}`, "link set vxbench mtu 1450 up", `address add ${addr}/30 dev vxbench`]
      : ["link del vxbench"];
    await run.run("ip", ["-n", ns, "-batch", "-"], { input: `${lines.join("\n")}\n`, allowFailure: !on });
  };
  await side(a.ns, a.ip, b.ip, "198.19.250.1");
  await side(b.ns, b.ip, a.ip, "198.19.250.2");
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
    const input = (n: number) => ({ node: nodes[1] as (typeof nodes)[1], nodes, localCidrs: ["10.1.0.0/16", "10.101.0.0/16"], localEndpoint: local, remoteEndpoints: remote(n), underlay: { dev: "eth0", mtu: 1500 } });
    const first = (await r.reconcile(desiredState(input(1000)))).durationMs;
    const resync = (await r.reconcile(desiredState(input(1000)))).durationMs;
    const change = (await r.reconcile(desiredState(input(999)))).durationMs;
    return { first, resync, change };
  } finally {
    await base.run("ip", ["netns", "del", ns], { allowFailure: true });
  }
}

const f = (g: number) => `${g.toFixed(2)} Gbit/s`;
await Lab.down(NAME);
const lab = await Lab.up({ name: NAME, clusters: 2, nodes: 3 });
try {
  await lab.waitConnected();
  const gw1 = lab.resolve("c1");
  const gw2 = lab.resolve("c2");
  const a = await iperf(lab, "c2/n0", "c1/n0", gw2.ip, 5201);
  await handBuiltVxlan(lab, true);
  const b = await iperf(lab, "c2/n0", "c1/n0", "198.19.250.2", 5202);
  await handBuiltVxlan(lab, false);
  const c = await iperf(lab, "c2/n0/p0", "c1/n0/p0", lab.resolve("c2/n0/p0").ip, 5203);
  const d = await iperf(lab, "c2/n1/p0", "c1/n1/p0", lab.resolve("c2/n1/p0").ip, 5204);
  const agent = lab.state.clusters[0]?.processes.find((p) => p.role === "route-agent/n1");
  const rss = agent ? Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${agent.pid}/status`, "utf8"))?.[1] ?? 0) / 1024 : 0;
  const rec = await reconcileBench();
  console.log(`\nCauseway dataplane benchmark (iperf3, 1 stream, ${SECONDS} s each; gateways ${gw1.ip} ↔ ${gw2.ip})`);
  console.log(`(a) raw underlay, gateway node ↔ gateway node        ${f(a)}`);
  console.log(`(b) hand-built kernel VXLAN, same two nodes          ${f(b)}`);
  console.log(`(c) Causeway cable, pod on gw node ↔ pod on gw node  ${f(c)}`);
  console.log(`(d) pod on non-gw node ↔ pod on non-gw node          ${f(d)}`);
  console.log(`c/b = ${(c / b).toFixed(3)}   (target ≥ 0.95)`);
  console.log(`d/c = ${(d / c).toFixed(3)}   (target ≥ 0.85)`);
  console.log(`route agent reconcile, 1000 remote CIDRs: first ${rec.first.toFixed(0)} ms, no-change resync ${rec.resync.toFixed(0)} ms, one CIDR removed ${rec.change.toFixed(0)} ms   (target ≤ 200 ms)`);
  console.log(`route agent resident memory (c1/n1, running in the lab): ${rss.toFixed(1)} MiB`);
} finally {
  await Lab.down(NAME);
}
