/**
 * npm run bench:mcs-propagation — ServiceExport → ServiceImport with its clusterset IP, on the
 * lab's real nodes (2 clusters × 2 nodes, Causeway installed by deploy-broker + join). BENCH_SERVICES
 * (default 100) ClusterIP Services are created in c2 (namespace `bench`, which c1 has too), then
 * their ServiceExports are created one after another, as fast as the API server takes them; a
 * watch on c1's ServiceImports notes when each first has `spec.ips`. Prints p50/p99/max of
 * "ServiceExport created in c2 → ServiceImport with an IP in c1", and of the unexport → gone.
 * Prints figures; not a test.
 */
import { ObjectMetaSchema } from "@causeway/api";
import { kube, silentLogger } from "@causeway/common";
import { Lab } from "@causeway/lab";
import { z } from "zod";

const SERVICES = Number(process.env.BENCH_SERVICES ?? 100);
const NAME = "cwmp";
const NS = "bench";
const pct = (xs: readonly number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))] ?? Number.NaN;
const figures = (what: string, xs: readonly number[]) =>
  console.log(`${what} (${xs.length} services): p50 ${Math.round(pct(xs, 50))} ms  p99 ${Math.round(pct(xs, 99))} ms  max ${Math.round(Math.max(...xs))} ms`);
const ImportSchema = z.object({ metadata: ObjectMetaSchema, spec: z.object({ ips: z.array(z.string()).optional() }).loose() }).loose();

await Lab.down(NAME);
const lab = await Lab.up({ name: NAME, clusters: 2, nodes: 2, kube: true });
const [c1, c2] = [await lab.kubeClient("c1"), await lab.kubeClient("c2")];
try {
  await lab.waitConnected(120_000);
  for (const c of [c1, c2]) await c.apply(kube.R.namespace, { metadata: { name: NS } }, { fieldManager: "bench" });
  const name = (i: number) => `s${String(i).padStart(3, "0")}`;
  for (let i = 0; i < SERVICES; i++)
    await c2.apply(
      kube.R.service,
      { metadata: { name: name(i), namespace: NS }, ...{ spec: { ports: [{ name: "http", protocol: "TCP", port: 80, targetPort: 8080 }] } } },
      { fieldManager: "bench" },
    );
  const exported = new Map<string, number>();
  const imported = new Map<string, number>();
  const unexported = new Map<string, number>();
  const gone = new Map<string, number>();
  const watcher = new kube.KubeWatcher({
    client: c1,
    type: kube.R.serviceImport,
    namespace: NS,
    schema: ImportSchema,
    log: silentLogger(),
    onChange: () => {
      const now = performance.now();
      const seen = new Set<string>();
      for (const si of watcher.items()) {
        seen.add(si.metadata.name);
        if (si.spec.ips?.length && !imported.has(si.metadata.name)) imported.set(si.metadata.name, now);
      }
      for (const n of unexported.keys()) if (!seen.has(n) && !gone.has(n)) gone.set(n, now);
    },
  });
  watcher.start();
  await watcher.synced;
  // Where the time goes: c2's export at the broker (c2's lighthouse), then c1's import (c1's lighthouse).
  const atBroker = new Map<string, number>();
  const admin = lab.admin();
  const stopWatch = admin.watch(
    ["export"],
    0,
    (e) => {
      const n = e.record?.name.split(".")[1] ?? "";
      if (e.type === 0 && e.record?.clusterId === "c2" && !atBroker.has(n) && exported.has(n)) atBroker.set(n, performance.now());
    },
    () => undefined,
  );
  for (let i = 0; i < SERVICES; i++) {
    await c2.apply(kube.R.serviceExport, { metadata: { name: name(i), namespace: NS } }, { fieldManager: "bench" });
    exported.set(name(i), performance.now());
  }
  const waitAll = async (m: Map<string, number>, what: string) => {
    const until = performance.now() + 120_000;
    while (m.size < SERVICES && performance.now() < until) await new Promise((r) => setTimeout(r, 100));
    if (m.size < SERVICES) throw new Error(`${what}: ${m.size} of ${SERVICES} within 120 s`);
  };
  await waitAll(imported, "imported");
  figures(
    "ServiceExport in c2 → ServiceImport with its clusterset IP in c1",
    [...exported].map(([n, t]) => (imported.get(n) ?? Number.NaN) - t),
  );
  figures(
    "  of which ServiceExport in c2 → export at the broker",
    [...exported].filter(([n]) => atBroker.has(n)).map(([n, t]) => (atBroker.get(n) ?? 0) - t),
  );
  figures(
    "  and export at the broker → ServiceImport in c1",
    [...atBroker].map(([n, t]) => (imported.get(n) ?? Number.NaN) - t),
  );
  stopWatch();
  admin.close();
  const ips = new Set(watcher.items().map((si) => si.spec.ips?.[0]));
  console.log(`clusterset IPs: ${ips.size} distinct for ${SERVICES} services`);
  for (let i = 0; i < SERVICES; i++) {
    unexported.set(name(i), performance.now());
    await c2.delete(kube.R.serviceExport, NS, name(i));
  }
  await waitAll(gone, "removed");
  figures(
    "ServiceExport deleted in c2 → ServiceImport gone in c1",
    [...unexported].map(([n, t]) => (gone.get(n) ?? Number.NaN) - t),
  );
  watcher.stop();
} finally {
  c1.close();
  c2.close();
  if (process.env.BENCH_KEEP !== "1") await Lab.down(NAME); // BENCH_KEEP=1 leaves the lab for a look ('causeway lab down --name cwmp')
}
