/**
 * npm run bench:globalnet — what globalnet's translation costs. Two standalone labs of 2 clusters
 * × 2 nodes, one after the other (one lab at a time: two would share the host's CPUs unevenly):
 * one with CIDRs of their own, one with kind's CIDRs in both clusters and globalnet. In each, c2
 * serves iperf3 on c2/n1/p0:5201 as the exported service "perf" and c1/n1/p0 runs iperf3 (one
 * stream, BENCH_SECONDS s, default 6) to it by its clusterset IP (what its name answers) — under
 * globalnet that is c1's route agent → c2's global IP (egress SNAT on c1's gateway, ingress DNAT
 * on c2's), without it straight to the pod. BENCH_RUNS (default 5) runs each; prints the medians
 * and their ratio. Then c2 exports BENCH_EXPORTS
 * (default 1,000) services in all: the throughput again with that table on c2's gateway; then one
 * more export, and the gateway's reconcile time for that change (its log's "globalnet translation
 * updated" ms: the table is updated in place, common/src/host/nfttable.ts). Prints figures;
 * not a test. BENCH_KEEP=1 leaves the globalnet lab up (`causeway lab down --name cwgnb`).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ServiceExport } from "@causeway/api";
import { readToken } from "@causeway/common";
import { BrokerConnection } from "@causeway/common/broker-client";
import { Lab, until } from "@causeway/lab";
import { parse, stringify } from "yaml";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 6);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const EXPORTS = Number(process.env.BENCH_EXPORTS ?? 1000);
const PORT = 5201;
const median = (xs: readonly number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] ?? 0;
const fmt = (xs: readonly number[]) => xs.map((x) => x.toFixed(2)).join(" ");

interface SiteDoc {
  services: { namespace: string; name: string; type: string; ip: string; ports: unknown[]; endpoints: { ip: string }[] }[];
}

/** Adds services to c2's site file (the lighthouse re-reads it) and exports them with c2's own credential, as `causeway export service` does. */
async function exportServices(lab: Lab, names: readonly string[], serverIp: string): Promise<void> {
  const c2 = lab.cluster("c2");
  const doc = parse(readFileSync(c2.siteFile, "utf8")) as SiteDoc;
  const base = c2.spec.serviceBase;
  const have = new Set(doc.services.map((s) => s.name));
  names.forEach((name, i) => {
    if (have.has(name)) return;
    const extra = /^extra/.test(name) ? 241 + doc.services.filter((x) => x.name.startsWith("extra")).length : 0;
    const ip = name === "perf" ? `${base}.0.250` : extra ? `${base}.0.${extra}` : `${base}.${10 + Math.floor(i / 250)}.${1 + (i % 250)}`;
    doc.services.push({
      namespace: "default",
      name,
      type: "ClusterSetIP",
      ip,
      // The others on the pod's echo server (the lighthouse probes every export's endpoints; iperf3 serves one test at a time).
      ports:
        name === "perf" ? [{ name: "iperf", protocol: "TCP", port: PORT, targetPort: PORT }] : [{ name: "echo", protocol: "TCP", port: 80, targetPort: 8080 }],
      endpoints: [{ ip: serverIp }],
    });
  });
  writeFileSync(c2.siteFile, stringify(doc));
  await new Promise((r) => setTimeout(r, 2000)); // the lighthouse re-reads its site file
  const conn = new BrokerConnection({ address: lab.state.broker.socket, token: readToken(c2.tokenFile) });
  try {
    const exportedAt = new Date().toISOString();
    for (const name of names) {
      await conn.put("export", "c2", `default.${name}`, { namespace: "default", name, type: "ClusterSetIP", ip: "", ports: [], endpoints: [], exportedAt });
    }
  } finally {
    conn.close();
  }
}

/** A lab with c2's iperf3 server exported as "perf"; its clusterset IP. */
async function setUp(name: string, globalnet: boolean): Promise<{ lab: Lab; ip: string }> {
  await Lab.down(name);
  const lab = await Lab.up({ name, clusters: 2, nodes: 2, globalnet });
  await lab.waitConnected(60_000);
  await lab.exec("c2/n1/p0", ["iperf3", "-s", "-D", "-p", String(PORT)]);
  await exportServices(lab, ["perf"], lab.resolve("c2/n1/p0").ip);
  const ip = await until(
    `${name}: perf's clusterset IP${globalnet ? " and global IP" : ""}`,
    async () => {
      const admin = lab.admin();
      try {
        const r = (await admin.list("export")).records.find((x) => x.clusterId === "c2" && x.name === "default.perf");
        const v = r ? (JSON.parse(r.valueJson) as ServiceExport) : undefined;
        return v?.clustersetIp && (!globalnet || v.globalIp) ? v.clustersetIp : undefined;
      } finally {
        admin.close();
      }
    },
    30_000,
  );
  await until(
    `${name}: c1/n1 translates the clusterset IP`,
    async () => ((await lab.exec("c1/n1", ["nft", "list", "table", "ip", "causeway-clusterset"])).stdout.includes(ip) ? true : undefined),
    30_000,
  );
  return { lab, ip };
}

async function iperf(lab: Lab, ip: string): Promise<number> {
  const r = await lab.exec("c1/n1/p0", ["iperf3", "-c", ip, "-p", String(PORT), "-t", String(SECONDS), "-J"], (SECONDS + 15) * 1000);
  const j = JSON.parse(r.stdout) as { end?: { sum_received?: { bits_per_second: number } }; error?: string };
  if (!j.end?.sum_received) throw new Error(`iperf3 → ${ip}: ${j.error ?? r.stderr}`);
  return j.end.sum_received.bits_per_second / 1e9;
}

/** The services in c2's active gateway's table, and the last reconcile time its log gives for that many. */
async function gatewayTable(lab: Lab): Promise<{ services: number; ms: number | undefined }> {
  const r = await lab.exec("c2/n0", ["nft", "-j", "list", "map", "ip", "causeway-globalnet", "services"]);
  const j = JSON.parse(r.stdout || "{}") as { nftables?: { map?: { elem?: unknown[] } }[] };
  const services = j.nftables?.find((x) => x.map)?.map?.elem?.length ?? 0;
  const logFile = join(lab.state.dir, "c2-n0-gateway.log");
  const lines = readFileSync(logFile, "utf8")
    .split("\n")
    .filter((l) => l.includes("globalnet translation updated"))
    .map((l) => JSON.parse(l) as { services: number; ms: number });
  return { services, ms: lines.reverse().find((l) => l.services === services)?.ms };
}

const runs = { globalnet: [] as number[], plain: [] as number[] };
try {
  const plain = await setUp("cwpnb", false);
  for (let i = 0; i < RUNS; i++) runs.plain.push(await iperf(plain.lab, plain.ip));
  await Lab.down("cwpnb");
} finally {
  await Lab.down("cwpnb");
}
const gn = await setUp("cwgnb", true);
try {
  for (let i = 0; i < RUNS; i++) runs.globalnet.push(await iperf(gn.lab, gn.ip));
  const [a, b] = [median(runs.plain), median(runs.globalnet)];
  console.log(`\nglobalnet vs distinct CIDRs (iperf3 c1/n1/p0 → c2/n1/p0 by the clusterset IP, 1 stream, ${SECONDS} s, median of ${RUNS} runs in each lab)`);
  console.log(`  distinct CIDRs: ${a.toFixed(2)} Gbit/s  (runs ${fmt(runs.plain)})`);
  console.log(`  globalnet:      ${b.toFixed(2)} Gbit/s  (runs ${fmt(runs.globalnet)})`);
  console.log(`  ratio globalnet / distinct: ${(b / a).toFixed(3)}`);

  const serverIp = gn.lab.resolve("c2/n1/p0").ip;
  const table = async (n: number) => {
    await exportServices(
      gn.lab,
      Array.from({ length: n - 1 }, (_, i) => `s${i}`),
      serverIp,
    );
    return until(`c2's gateway translates ${n} services`, async () => ((await gatewayTable(gn.lab)).services >= n ? gatewayTable(gn.lab) : undefined), 120_000);
  };
  const sizes: { n: number; gbps: number[]; ms: number | undefined }[] = [];
  for (const n of [10, EXPORTS]) {
    const t = await table(n);
    const gbps: number[] = [];
    for (let i = 0; i < RUNS; i++) gbps.push(await iperf(gn.lab, gn.ip));
    // One more export once the table is settled: the gateway's reconcile of a change at this size.
    await new Promise((r) => setTimeout(r, 3000));
    await exportServices(gn.lab, [`extra${n}`], serverIp);
    const more = await until(
      `c2's gateway translates one more`,
      async () => {
        const g = await gatewayTable(gn.lab);
        return g.services > t.services && g.ms !== undefined ? g : undefined;
      },
      60_000,
    );
    sizes.push({ n: t.services, gbps, ms: more.ms });
  }
  console.log(`\nglobalnet translation on c2's gateway by exported services (same path, median of ${RUNS} runs)`);
  for (const s of sizes) {
    console.log(
      `  ${String(s.n).padStart(5)} services: ${median(s.gbps).toFixed(2)} Gbit/s  (runs ${fmt(s.gbps)}); the gateway's reconcile of one more export: ${s.ms ?? "?"} ms`,
    );
  }
  const [small, big] = sizes;
  if (small && big) console.log(`  ratio ${big.n} / ${small.n} services: ${(median(big.gbps) / median(small.gbps)).toFixed(3)}`);
} finally {
  if (process.env.BENCH_KEEP !== "1") await Lab.down("cwgnb");
}
