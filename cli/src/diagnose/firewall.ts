/**
 * `causeway diagnose firewall|connections --kubeconfig …` on two real clusters. Firewall: for
 * each direction, datagrams carrying a random marker go from the source cluster's active gateway
 * node (a host-network pod of Causeway's image) to the address and cable port the source's
 * gateway uses for the other cluster, while a host-network pod on the destination's active gateway
 * node counts them with an nftables rule on the input hook after the node's own filter — so a drop
 * anywhere on the way, the node's own firewall included, shows. Everything runs in namespace
 * causeway-diagnose, removed after, and the counting table goes with its pod.
 */
import { randomBytes } from "node:crypto";
import { SYSTEM_NAMESPACE } from "@causeway/api";
import { type CheckResult, kube } from "@causeway/common";
import { componentImage, inTestNamespace, podFinished, podReady, podReport, testPod, waitPod } from "../kube/testpods.ts";

export const DIAGNOSE_NAMESPACE = "causeway-diagnose";
const TABLE = "causeway-diagnose";
const WAIT_MS = 15_000;

/** Counts marked datagrams to the port (argv: port, marker hex, ms) on the input hook after the filter; reports the count; removes its table. */
const COUNTER = `
const { execFileSync } = require("child_process"), fs = require("fs");
const [port, marker, ms] = process.argv.slice(1);
const nft = (args, input) => execFileSync("nft", args, { input, encoding: "utf8" });
const drop = () => { try { nft(["delete", "table", "inet", "${TABLE}"]); } catch {} };
drop();
nft(["-f", "-"], "table inet ${TABLE} {\\n chain input {\\n  type filter hook input priority 100;\\n  udp dport " + port + " @th,64,64 0x" + marker + " counter\\n }\\n}\\n");
const count = () => {
  const rules = JSON.parse(nft(["-j", "list", "table", "inet", "${TABLE}"])).nftables.filter((x) => x.rule);
  return rules.flatMap((r) => r.rule.expr).map((e) => e.counter?.packets ?? 0).reduce((a, b) => a + b, 0);
};
fs.writeFileSync("/tmp/ready", "");
const end = Date.now() + Number(ms);
const tick = () => {
  const n = count();
  if (n > 0 || Date.now() > end) { drop(); fs.writeFileSync("/dev/termination-log", JSON.stringify({ packets: n })); return; }
  setTimeout(tick, 200);
};
tick();
for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => { drop(); process.exit(1); });`;

/** Sends ten datagrams, the marker first in each, to argv host:port, one every 200 ms. */
const SENDER = `
const s = require("dgram").createSocket("udp4"), fs = require("fs");
const [host, port, marker] = process.argv.slice(1);
const msg = Buffer.concat([Buffer.from(marker, "hex"), Buffer.alloc(24)]);
let n = 0;
const one = () => s.send(msg, Number(port), host, () => { if (++n < 10) setTimeout(one, 200); else { s.close(); fs.writeFileSync("/dev/termination-log", JSON.stringify({ sent: n })); } });
one();`;

interface EndpointObject {
  spec: { cluster_id: string; hostname: string; public_ip?: string; private_ip?: string; backend_config?: Record<string, string> };
}
interface GatewayObject {
  metadata: kube.ObjectMeta;
  status?: { haStatus?: string; connections?: { endpoint: { cluster_id: string }; status: string; statusMessage?: string; usingIP?: string }[] };
}

/** A cluster's id (its causeway-config) and its active gateway (the node it runs on and its Gateway status). */
export async function activeGateway(c: kube.KubeClient): Promise<{ clusterId: string; node: string; gw: GatewayObject | undefined }> {
  const cfg = await c.get<{ data?: Record<string, string> }>(kube.R.configMap, SYSTEM_NAMESPACE, kube.CONFIG_MAP);
  const gws = await c.list<GatewayObject>(kube.R.gateway, SYSTEM_NAMESPACE);
  const gw = gws.items.find((g) => g.status?.haStatus === "active");
  return { clusterId: cfg.data?.clusterId ?? c.context, node: gw?.metadata.name ?? "", gw };
}

/** Each cluster's active gateway's connection to the other: a finding per direction. */
export async function connectionsKube(clients: readonly kube.KubeClient[]): Promise<CheckResult[]> {
  const sides = await Promise.all(clients.map(activeGateway));
  const out: CheckResult[] = [];
  for (const s of sides) {
    for (const o of sides) {
      if (o === s) continue;
      const name = `connection ${s.clusterId} → ${o.clusterId}`;
      const x = s.gw?.status?.connections?.find((k) => k.endpoint.cluster_id === o.clusterId);
      out.push(
        x?.status === "connected"
          ? { name, ok: true, ms: 0, detail: "connected" }
          : {
              name,
              ok: false,
              ms: 0,
              detail: x
                ? `${x.status}${x.statusMessage ? `: ${x.statusMessage}` : ""} — check that the cable's UDP port passes between the gateways ('causeway diagnose firewall --kubeconfig …')`
                : `${s.clusterId}'s active gateway reports no connection to ${o.clusterId} — is a gateway of ${s.clusterId} running and active ('causeway show gateways')?`,
            },
      );
    }
  }
  return out;
}

interface Direction {
  readonly src: { clusterId: string; node: string };
  readonly dst: { clusterId: string; node: string };
  /** The address and cable port src's gateway sends dst's cable traffic to ("" without an endpoint). */
  readonly ip: string;
  readonly port: number;
  readonly discoveryPort: string;
}

/** Where src's gateway sends dst's cable traffic: the address its connection uses (else the endpoint's), the endpoint's cable port. */
async function direction(src: kube.KubeClient, dst: kube.KubeClient): Promise<Direction> {
  const [s, d] = [await activeGateway(src), await activeGateway(dst)];
  const eps = await src.list<EndpointObject>(kube.R.endpoint, SYSTEM_NAMESPACE);
  const ep = eps.items.find((e) => e.spec.cluster_id === d.clusterId)?.spec ?? { cluster_id: d.clusterId, hostname: "" };
  const cfg = ep.backend_config ?? {};
  const using = (s.gw?.status?.connections ?? []).find((k) => k.endpoint.cluster_id === d.clusterId)?.usingIP;
  return {
    src: s,
    dst: d,
    ip: [using, ep.public_ip, ep.private_ip].find(Boolean) ?? "",
    port: Number(cfg["udp-port"] ?? 4500),
    discoveryPort: cfg["natt-discovery-port"] ?? "4490",
  };
}

/** The counting pod on dst's gateway node, ready once its table is in place; then the sending pod on src's; the count. */
async function countMarked(src: kube.KubeClient, dst: kube.KubeClient, x: Direction, timeoutMs: number): Promise<number> {
  const marker = randomBytes(8).toString("hex");
  const ns = DIAGNOSE_NAMESPACE;
  const counter = testPod({
    ...{ name: "counter", namespace: ns, image: await componentImage(dst), script: COUNTER, args: [String(x.port), marker, String(WAIT_MS)] },
    ...{ role: "counter", readyFile: "/tmp/ready", node: x.dst.node, hostNetwork: true, capabilities: ["NET_ADMIN"] },
  });
  await dst.create(kube.R.pod, counter);
  await waitPod(dst, ns, "counter", (p) => podReady(p) || podFinished(p), timeoutMs);
  const sender = testPod({
    ...{ name: "sender", namespace: ns, image: await componentImage(src), script: SENDER, args: [x.ip, String(x.port), marker] },
    ...{ role: "sender", node: x.src.node, hostNetwork: true },
  });
  await src.create(kube.R.pod, sender);
  await podReport(src, ns, "sender", timeoutMs);
  const got = await podReport<{ packets: number }>(dst, ns, "counter", timeoutMs);
  await Promise.all([src.delete(kube.R.pod, ns, "sender"), dst.delete(kube.R.pod, ns, "counter")]);
  return got.packets ?? 0;
}

/** One direction: marked datagrams from src's gateway node to the cable address and port src uses for dst, counted on dst's gateway node. */
async function oneWay(src: kube.KubeClient, dst: kube.KubeClient, timeoutMs: number): Promise<CheckResult> {
  const t0 = performance.now();
  const x = await direction(src, dst);
  const name = `UDP ${x.port} from ${x.src.clusterId}'s gateway (${x.src.node || "none active"}) to ${x.dst.clusterId}'s gateway ${x.ip || "(no endpoint)"}`;
  const result = (ok: boolean, detail: string): CheckResult => ({ name, ok, ms: Math.round(performance.now() - t0), detail });
  if (!x.src.node || !x.dst.node || !x.ip)
    return result(false, `needs an active gateway in both clusters and ${x.dst.clusterId}'s endpoint in ${x.src.clusterId} ('causeway show all')`);
  const packets = await countMarked(src, dst, x, timeoutMs);
  if (packets > 0) return result(true, `${packets} of 10 marked datagrams arrived`);
  return result(
    false,
    `none of 10 marked datagrams arrived at ${x.dst.clusterId}'s gateway node ${x.dst.node} (counted after its own packet filter): a firewall on the way or on the node drops UDP ${x.port}; allow UDP ${x.port} (and the NAT discovery port ${x.discoveryPort}) both ways between the gateways of ${x.src.clusterId} and ${x.dst.clusterId}`,
  );
}

/** Both directions between two clusters; everything it makes is removed after. */
export async function firewallKube(a: kube.KubeClient, b: kube.KubeClient, timeoutMs = 60_000): Promise<CheckResult[]> {
  return inTestNamespace([a, b], DIAGNOSE_NAMESPACE, timeoutMs, async () => [await oneWay(a, b, timeoutMs), await oneWay(b, a, timeoutMs)]);
}
