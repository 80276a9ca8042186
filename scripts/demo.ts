/**
 * npm run demo: builds a 2-cluster lab, shows the clusterset, and proves pod-to-pod traffic
 * across clusters from non-gateway nodes in both directions with the source IP preserved, then
 * service discovery: a service in both clusters answered locally first, by the other cluster
 * when the local one has no pods, and locally again.
 */
import { ProcessRunner } from "@causeway/common";
import { Lab } from "@causeway/lab";
import { buildViews, renderText, SECTIONS } from "@causeway/cli";
import { step as timedStep, together } from "./steps.ts";
import { toolsStep } from "./tools.ts";

const started = performance.now();
const name = process.env.CAUSEWAY_DEMO_LAB ?? "demo";
const node = process.execPath;
const step = (s: string) => console.log(`\n=== ${s}`);

// Each cluster's DNS is a CoreDNS with the plugins the lab uses, built from its module once (minutes
// the first time): the lab comes up and its cables connect meanwhile, and the DNS starts when it is built.
if (Lab.list().includes(name)) await timedStep(`the previous lab "${name}" removed`, () => Lab.down(name));
const [, lab] = await together(
  toolsStep(["coredns"]),
  {
    label: `lab "${name}": 2 clusters × 3 nodes in network namespaces — broker, gateways, route agents, lighthouses; cables c1 ↔ c2 (VXLAN) connected`,
    run: async () => {
      const l = await Lab.up({ name, clusters: 2, nodes: 3, deferDns: true });
      await l.waitConnected();
      return l;
    },
  },
  () => Lab.down(name),
);
await timedStep("cluster DNS: CoreDNS in c1 and c2, clusterset.local forwarded to the lighthouses", () => lab.startDns());
const admin = lab.admin();
step("causeway show all");
console.log(renderText(buildViews((await admin.list("")).records), SECTIONS));
admin.close();

let failed = 0;
/** TCP (the server reports the source it saw) and, for pod addresses, ICMP. Service VIPs are
 * DNAT rules for one TCP port, like kube-proxy's iptables mode: they answer no ping. */
async function prove(from: string, to: string, ip: string, port = 8080, icmp = true) {
  const { ip: src } = lab.resolve(from);
  const ping = icmp ? await lab.exec(from, ["ping", "-c", "3", "-i", "0.2", "-W", "1", ip]) : undefined;
  const tcp = await lab.exec(from, [node, "lab/src/tools/client.ts", "--host", ip, "--port", String(port)]);
  const seen = /sees ([\d.]+):/.exec(tcp.stdout)?.[1];
  const pingOk = !ping || ping.exitCode === 0;
  const ok = pingOk && tcp.exitCode === 0 && seen === src;
  if (!ok) failed++;
  console.log(
    `${ok ? "✓" : "✗"} ${from} (${src}) → ${to} (${ip}:${port}): ${ping ? `ICMP ${pingOk ? "ok" : "FAILED"}, ` : ""}TCP ${tcp.exitCode === 0 ? "ok" : "FAILED"}, server saw ${seen ?? "nothing"}${seen === src ? " (source preserved)" : ""}`,
  );
}
step("pod ↔ pod across clusters, non-gateway nodes, both directions");
await prove("c1/n1/p0", "c2/n1/p0", lab.resolve("c2/n1/p0").ip);
await prove("c2/n2/p0", "c1/n2/p0", lab.resolve("c1/n2/p0").ip);
step("pod → service VIP of the other cluster");
await prove("c1/n2/p0", "c2 service echo", "10.102.0.10", 80, false);

step("service discovery: web in both clusters, exported; c1's pods resolve web.default.svc.clusterset.local through their CoreDNS");
const run = async (argv: string[]) => lab.exec("c1/n2/p0", [node, ...argv]);
/** An HTTP GET by name from c1/n2/p0, repeated until `want` answers (the export reaches every cluster within about a second). */
async function reach(want: RegExp, what: string) {
  let body = "";
  for (let i = 0; i < 30 && !want.test(body); i++) {
    const r = await run(["lab/src/tools/get.ts", "--host", "web.default.svc.clusterset.local"]);
    body = (JSON.parse(r.stdout || "{}") as { body?: string; error?: string }).body ?? "";
    if (!want.test(body)) await new Promise((r) => setTimeout(r, 200));
  }
  const ok = want.test(body);
  if (!ok) failed++;
  console.log(`${ok ? "✓" : "✗"} ${what}: answered by ${body || "nothing"}`);
}
for (const c of ["c1", "c2"]) {
  await lab.addService(`${c}/default/web`, { pods: 1 });
  const r = await new ProcessRunner(30_000).run(node, ["cli/src/main.ts", "export", "service", "web", "-n", "default", "--context", c, "--lab", name], {
    allowFailure: true,
  });
  if (r.exitCode !== 0) failed++;
  console.log(r.stdout.trim() || r.stderr.trim());
}
await reach(/^c1\//, "local first");
await lab.scaleService("c1/default/web", 0);
await reach(/^c2\//, "c1's web has no pods → c2's (active-active)");
await lab.scaleService("c1/default/web", 1);
await reach(/^c1\//, "c1's web is back → local again");

// From `npm run demo` (setup included) when it set CAUSEWAY_T0, else from this script's start.
const t0 = Number(process.env.CAUSEWAY_T0);
const total = Math.round((Number.isFinite(t0) && t0 > 0 ? Date.now() - t0 : performance.now() - started) / 1000);
step(`${failed ? `✗ ${failed} check(s) failed` : "✓ the clusterset works"} in ${Math.floor(total / 60)} min ${total % 60} s`);
console.log(`The lab is still running. Try:
  ./causeway show all --lab ${name}
  ./causeway lab exec c1/n1/p0 --name ${name} -- ping -c 2 ${lab.resolve("c2/n1/p0").ip}
  ./causeway lab exec c1/n1/p0 --name ${name} -- getent hosts web.default.svc.clusterset.local
Tear it down with:
  ./causeway lab down --name ${name}`);
process.exit(failed ? 1 : 0);
