import { spawn } from "node:child_process";
import { join } from "node:path";
import { type Endpoint, parseValue, type ServiceExport } from "@causeway/api";
import { host, newestPerCluster } from "@causeway/common";
import type { Lab } from "./lab.ts";
import type { CheckResult } from "@causeway/common";

/** The marker the probe datagrams carry ("CWDG"), matched by the capture's filter. */
const MARKER = "CWDG";
const MARKER_HEX = `0x${Buffer.from(MARKER).toString("hex")}`;

/** Each cluster's active gateway: its endpoint at the broker (newest per cluster). */
async function gateways(lab: Lab): Promise<Endpoint[]> {
  const admin = lab.admin();
  try {
    const { records } = await admin.list("endpoint");
    const cached = records.map((r) => ({ ...r, kind: "endpoint" as const, value: parseValue("endpoint", r.valueJson) }));
    return [...newestPerCluster(cached).values()];
  } finally {
    admin.close();
  }
}

/** Captures one datagram with the marker to `port` in `ns` within `ms`; resolves whether it came. */
function capture(ns: string, port: number, ms: number): { ready: Promise<void>; arrived: Promise<boolean> } {
  const filter = `udp and dst port ${port} and udp[8:4] = ${MARKER_HEX}`;
  const p = spawn("ip", ["netns", "exec", ns, "timeout", String(Math.ceil(ms / 1000)), "tcpdump", "-ni", "any", "-c", "1", "-p", filter], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let resolveReady!: () => void;
  const ready = new Promise<void>((r) => (resolveReady = r));
  p.stderr.on("data", (d: Buffer) => {
    out += d.toString();
    if (out.includes("listening on")) resolveReady();
  });
  p.stdout.on("data", (d: Buffer) => (out += d.toString()));
  const arrived = new Promise<boolean>((resolve) => p.on("close", () => resolve(/\b1 packet captured/.test(out))));
  void arrived.then(() => resolveReady());
  return { ready, arrived };
}

/**
 * `causeway diagnose firewall` on a lab: for every ordered pair of clusters, datagrams marked
 * "CWDG" are sent from the source cluster's active gateway to the destination gateway's cable
 * port (the address and port its endpoint advertises) while a capture on the destination
 * gateway waits for one. None arriving means something between them drops the cable's UDP.
 */
export async function diagnoseFirewall(lab: Lab): Promise<CheckResult[]> {
  const eps = await gateways(lab);
  const out: CheckResult[] = [];
  for (const src of eps) {
    for (const dst of eps) {
      if (src === dst) continue;
      const port = Number(dst.backend_config["udp-port"] ?? 4500);
      const ip = dst.public_ip || dst.private_ip;
      const name = `UDP ${port} from ${src.cluster_id}'s gateway (${src.hostname}) to ${dst.cluster_id}'s gateway ${ip}`;
      const t0 = performance.now();
      const dstNs = lab.resolve(`${dst.cluster_id}/${dst.hostname}`).ns;
      const cap = capture(dstNs, port, 4000);
      await cap.ready;
      await lab.exec(`${src.cluster_id}/${src.hostname}`, [
        process.execPath,
        join(lab.repoRoot, "lab/src/tools/udpsend.ts"),
        "--host",
        ip,
        "--port",
        String(port),
        "--payload",
        MARKER,
      ]);
      const ok = await cap.arrived;
      out.push({
        name,
        ok,
        ms: Math.round(performance.now() - t0),
        detail: ok
          ? "arrives"
          : `nothing arrived at ${dst.cluster_id}'s gateway: a firewall between the gateways drops UDP ${port}; allow UDP ${port} (and the NAT discovery port ${dst.backend_config["natt-discovery-port"] ?? 4490}) both ways between ${src.cluster_id} and ${dst.cluster_id}`,
      });
    }
  }
  return out;
}

/** `diagnose globalnet`: each globalnet cluster's active gateway translates for its global CIDR, toward the others, and for its exports. */
export async function diagnoseGlobalnet(lab: Lab): Promise<CheckResult[]> {
  const admin = lab.admin();
  let clusters: { cluster_id: string; global_cidr: string[] }[];
  let exports: { clusterId: string; value: ServiceExport }[];
  try {
    clusters = (await admin.list("cluster")).records.map((r) => parseValue("cluster", r.valueJson));
    exports = (await admin.list("export")).records.map((r) => ({ clusterId: r.clusterId, value: parseValue("export", r.valueJson) }));
  } finally {
    admin.close();
  }
  const gn = clusters.filter((c) => c.global_cidr.length > 0);
  if (!gn.length) return [{ name: "globalnet", ok: true, ms: 0, detail: "the clusterset runs without globalnet: nothing to translate" }];
  const active = new Map((await gateways(lab)).map((e) => [e.cluster_id, e.hostname]));
  const out: CheckResult[] = [];
  for (const c of gn) {
    const node = active.get(c.cluster_id) ?? "";
    const res = node ? await lab.exec(`${c.cluster_id}/${node}`, ["nft", "-j", "list", "table", "ip", host.GLOBALNET_NAT_TABLE]) : undefined;
    out.push(
      ...host.globalNatFindings({
        clusterId: c.cluster_id,
        node,
        globalCidr: c.global_cidr[0] ?? "",
        remote: gn.filter((x) => x !== c).flatMap((x) => x.global_cidr),
        exports: exports.filter((e) => e.clusterId === c.cluster_id && !e.value.unavailable).map((e) => e.value),
        tableJson: res && res.exitCode === 0 ? res.stdout : undefined,
      }),
    );
  }
  return out;
}
