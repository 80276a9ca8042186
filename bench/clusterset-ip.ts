/**
 * npm run bench:clusterset-ip — throughput to a service by its clusterset IP against the same
 * endpoint by the exporting cluster's own Service IP. A standalone lab of 2 clusters × 2 nodes;
 * c2 serves iperf3 on c2/n1/p0:5201 behind a Service IP (10.102.0.11:5201, translated on c2's
 * nodes as the lab's stand-in for kube-proxy does) and exports it; c1/n1/p0 runs iperf3 (one
 * stream, BENCH_SECONDS s, default 6) to the Service IP and to the clusterset IP (translated on
 * c1/n1 by the route agent's table), BENCH_RUNS (default 5) interleaved runs each. Prints the
 * medians and their ratio. Prints figures; not a test.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ServiceExport } from "@causeway/api";
import { ProcessRunner } from "@causeway/common";
import { Lab, REPO_ROOT, until } from "@causeway/lab";
import { parse, stringify } from "yaml";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 6);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const NAME = "cwcsb";
const VIP = "10.102.0.11";
const PORT = 5201;
const median = (xs: readonly number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] ?? 0;

await Lab.down(NAME);
const lab = await Lab.up({ name: NAME, clusters: 2, nodes: 2 });
try {
  await lab.waitConnected(60_000);
  const server = lab.resolve("c2/n1/p0");
  // c2's Service IP for the iperf3 server, on every c2 node (what kube-proxy would do).
  const dnat = [
    "*nat",
    ...["PREROUTING", "OUTPUT"].map((chain) => `-A ${chain} -d ${VIP}/32 -p tcp --dport ${PORT} -j DNAT --to-destination ${server.ip}:${PORT}`),
    "COMMIT",
    "",
  ];
  for (const n of lab.cluster("c2").spec.nodes)
    await new ProcessRunner(30_000).run("ip", ["netns", "exec", lab.resolve(`c2/${n.name}`).ns, "iptables-restore", "--noflush"], { input: dnat.join("\n") });
  // One iperf3 server for every run (and the lighthouse's endpoint probe, which marks the endpoint ready).
  await lab.exec("c2/n1/p0", ["iperf3", "-s", "-D", "-p", String(PORT)]);
  const site = lab.cluster("c2").siteFile;
  const doc = parse(readFileSync(site, "utf8")) as { services: unknown[] };
  doc.services.push({
    namespace: "default",
    name: "perf",
    type: "ClusterSetIP",
    ip: VIP,
    ports: [{ name: "iperf", protocol: "TCP", port: PORT, targetPort: PORT }],
    endpoints: [{ ip: server.ip }],
  });
  writeFileSync(site, stringify(doc));
  await new Promise((r) => setTimeout(r, 2000)); // the lighthouse re-reads its site file
  const cli = await new ProcessRunner(30_000).run(process.execPath, [
    join(REPO_ROOT, "cli/src/main.ts"),
    "export",
    "service",
    "perf",
    "-n",
    "default",
    "--context",
    "c2",
    "--lab",
    NAME,
  ]);
  if (cli.exitCode !== 0) throw new Error(cli.stdout + cli.stderr);
  const csip = await until(
    "perf's clusterset IP",
    async () => {
      const admin = lab.admin();
      try {
        const r = (await admin.list("export")).records.find((x) => x.clusterId === "c2" && x.name === "default.perf");
        return r ? (JSON.parse(r.valueJson) as ServiceExport).clustersetIp : undefined;
      } finally {
        admin.close();
      }
    },
    20_000,
  );
  const iperf = async (ip: string): Promise<number> => {
    const r = await lab.exec("c1/n1/p0", ["iperf3", "-c", ip, "-p", String(PORT), "-t", String(SECONDS), "-J"], (SECONDS + 15) * 1000);
    const j = JSON.parse(r.stdout) as { end?: { sum_received?: { bits_per_second: number } }; error?: string };
    if (!j.end?.sum_received) throw new Error(`iperf3 → ${ip}: ${j.error ?? r.stderr}`);
    return j.end.sum_received.bits_per_second / 1e9;
  };
  await until(
    "c1/n1 translates the clusterset IP",
    async () => ((await lab.exec("c1/n1", ["nft", "list", "table", "ip", "causeway-clusterset"])).stdout.includes(csip) ? true : undefined),
    20_000,
  );
  const runs: Record<string, number[]> = { serviceIp: [], clustersetIp: [] };
  for (let i = 0; i < RUNS; i++) {
    runs.serviceIp?.push(await iperf(VIP));
    runs.clustersetIp?.push(await iperf(csip));
  }
  const [a, b] = [median(runs.serviceIp ?? []), median(runs.clustersetIp ?? [])];
  console.log(`\nclusterset IP vs Service IP (iperf3 c1/n1/p0 → c2/n1/p0, 1 stream, ${SECONDS} s, median of ${RUNS} interleaved runs)`);
  console.log(`  by c2's Service IP ${VIP}:   ${a.toFixed(2)} Gbit/s  (runs ${(runs.serviceIp ?? []).map((x) => x.toFixed(2)).join(" ")})`);
  console.log(`  by the clusterset IP ${csip}: ${b.toFixed(2)} Gbit/s  (runs ${(runs.clustersetIp ?? []).map((x) => x.toFixed(2)).join(" ")})`);
  console.log(`  ratio clusterset / Service IP: ${(b / a).toFixed(3)}`);
} finally {
  await Lab.down(NAME);
}
