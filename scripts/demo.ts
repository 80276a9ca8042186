/**
 * npm run demo: builds a 2-cluster lab, shows the clusterset, and proves pod-to-pod traffic
 * across clusters from non-gateway nodes in both directions with the source IP preserved.
 */
import { Lab } from "@causeway/e2e";
import { buildViews, renderText, SECTIONS } from "../cli/src/show/index.ts";

const name = process.env.CAUSEWAY_DEMO_LAB ?? "demo";
const node = process.execPath;
const step = (s: string) => console.log(`\n=== ${s}`);

if (Lab.list().includes(name)) await Lab.down(name);
step(`building lab "${name}": 2 clusters × 3 nodes, VXLAN cables`);
const lab = await Lab.up({ name, clusters: 2, nodes: 3 });
await lab.waitConnected();
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
  const tcp = await lab.exec(from, [node, "e2e/src/tools/client.ts", "--host", ip, "--port", String(port)]);
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

step(failed ? `✗ ${failed} check(s) failed` : "✓ the clusterset works");
console.log(`The lab is still running. Try:
  ./causeway show all --lab ${name}
  ./causeway lab exec c1/n1/p0 --name ${name} -- ping -c 2 ${lab.resolve("c2/n1/p0").ip}
Tear it down with:
  ./causeway lab down --name ${name}`);
process.exit(failed ? 1 : 0);
