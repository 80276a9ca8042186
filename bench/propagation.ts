/**
 * npm run bench:propagation — how fast an export becomes a name in the other clusters. A
 * standalone lab of 3 clusters; BENCH_SERVICES (default 1000) services spread over them (listed
 * in their site files, backed by the lab's echo pod), exported one after another as
 * `causeway export service` does (a broker write with the cluster's credential). In each
 * cluster a watcher asks that cluster's lighthouse for every name exported elsewhere, every
 * 10 ms from the moment it was exported, until it answers. Prints p50/p99/max of export →
 * resolvable over every (service, other cluster) pair. Prints figures; not a test.
 */
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { exportName } from "@causeway/api";
import { exportOf, readToken } from "@causeway/common";
import { BrokerConnection } from "@causeway/common/broker-client";
import { Lab, REPO_ROOT } from "@causeway/lab";
import { parse, stringify } from "yaml";

const SERVICES = Number(process.env.BENCH_SERVICES ?? 1000);
const NAME = "cwprop";
const CLUSTERS = ["c1", "c2", "c3"];
const pct = (xs: readonly number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))] ?? Number.NaN;

await Lab.down(NAME);
const lab = await Lab.up({ name: NAME, clusters: 3, nodes: 2 });
try {
  await lab.waitConnected(60_000);
  // The services: s0000… round-robin over the clusters, each a VIP in its cluster backed by the lab's echo pod.
  const owner = (i: number) => CLUSTERS[i % CLUSTERS.length] ?? "c1";
  const svcName = (i: number) => `s${String(i).padStart(4, "0")}`;
  const services = new Map<string, ReturnType<typeof serviceOf>[]>();
  function serviceOf(i: number) {
    const c = lab.cluster(owner(i));
    const echo = c.spec.services[0];
    return {
      namespace: "bench",
      name: svcName(i),
      type: "ClusterSetIP" as const,
      ip: `10.${100 + c.spec.index}.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`,
      ports: [{ name: "http", protocol: "TCP" as const, port: 80, targetPort: echo?.backendPort ?? 8080 }],
      endpoints: [{ ip: echo?.backendIp ?? "" }],
    };
  }
  for (let i = 0; i < SERVICES; i++) services.set(owner(i), [...(services.get(owner(i)) ?? []), serviceOf(i)]);
  for (const id of CLUSTERS) {
    const file = lab.cluster(id).siteFile;
    const site = parse(readFileSync(file, "utf8")) as { services: unknown[] };
    site.services.push(...(services.get(id) ?? []));
    writeFileSync(file, stringify(site));
  }
  await new Promise((r) => setTimeout(r, 2000)); // lighthouses re-read their site files
  // One watcher per cluster, in its lighthouse's node, told each name as it is exported elsewhere.
  const watchers = CLUSTERS.map((id) => {
    const n0 = lab.resolve(`${id}/n0`);
    const child = spawn("ip", ["netns", "exec", n0.ns, process.execPath, join(REPO_ROOT, "lab/src/tools/dnswait.ts"), "--server", n0.ip], {
      stdio: ["pipe", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    const done = new Promise<Record<string, number>>((resolve) => child.on("close", () => resolve(JSON.parse(out || "{}") as Record<string, number>)));
    return { id, child, done };
  });
  const conns = new Map(CLUSTERS.map((id) => [id, new BrokerConnection({ address: lab.state.broker.socket, token: readToken(lab.cluster(id).tokenFile) })]));
  const exportedAt = new Map<string, number>();
  const t0 = performance.now();
  for (let i = 0; i < SERVICES; i++) {
    const c = owner(i);
    const svc = serviceOf(i);
    const fqdn = `${svc.name}.bench.svc.clusterset.local`;
    exportedAt.set(fqdn, Date.now());
    for (const w of watchers) if (w.id !== c) w.child.stdin.write(`${fqdn}\n`);
    await conns.get(c)?.put(
      "export",
      c,
      exportName("bench", svc.name),
      exportOf(svc, () => true, new Date().toISOString()),
    );
  }
  const writeMs = performance.now() - t0;
  for (const w of watchers) w.child.stdin.end();
  const results = await Promise.all(watchers.map((w) => w.done));
  for (const c of conns.values()) c.close();
  const lat: number[] = [];
  let missing = 0;
  watchers.forEach((w, k) => {
    for (let i = 0; i < SERVICES; i++) {
      if (owner(i) === w.id) continue;
      const fqdn = `${svcName(i)}.bench.svc.clusterset.local`;
      const at = results[k]?.[fqdn];
      if (at === undefined) missing++;
      else lat.push(at - (exportedAt.get(fqdn) ?? at));
    }
  });
  console.log(
    `${SERVICES} services exported across ${CLUSTERS.length} clusters in ${Math.round(writeMs)} ms; ${lat.length} (service, other cluster) pairs resolved, ${missing} never`,
  );
  console.log(`export → resolvable in the other clusters: p50 ${pct(lat, 50)} ms  p99 ${pct(lat, 99)} ms  max ${Math.max(...lat)} ms`);
  if (missing || pct(lat, 99) > 1000) process.exitCode = 1;
} finally {
  await Lab.down(NAME);
}
