import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { countFiles, gatherApi } from "@causeway/deploy";
import type { Lab } from "./lab.ts";
import { LabError } from "./errors.ts";

/** Files of the lab directory never gathered: credentials. */
const SECRET = /(\.token|token|cable-secret|kubeconfig|\.key|\.pem|\.crt)$/;

/** What each lab node's host state is read with. */
const NODE_COMMANDS: readonly (readonly string[])[] = [
  ["ip", "-d", "link", "show"],
  ["ip", "address", "show"],
  ["ip", "rule", "show"],
  ["ip", "route", "show", "table", "all"],
  ["iptables-save"],
  ["wg", "show", "all"],
];

/**
 * `causeway gather` on a lab: into one .tar.gz — every component's log, the lab state and site
 * files, the broker's records, in the Kubernetes tier the Causeway objects of each cluster's API,
 * and each node's links, addresses, rules, routes, packet filter and WireGuard state. Credentials
 * (tokens, keys, kubeconfigs, the cable secret) are left out. Returns the archive's path.
 */
export async function gatherLab(lab: Lab, out: string): Promise<{ archive: string; files: number }> {
  const root = mkdtempSync(join(tmpdir(), "cw-gather-"));
  const dir = join(root, `causeway-gather-${lab.state.name}`);
  mkdirSync(join(dir, "logs"), { recursive: true });
  try {
    for (const f of readdirSync(lab.state.dir)) {
      if (SECRET.test(f) || !/\.(log|yaml|json)$/.test(f)) continue;
      copyFileSync(join(lab.state.dir, f), join(dir, f.endsWith(".log") ? "logs" : "", f));
    }
    const admin = lab.admin();
    try {
      const { records, revision } = await admin.list("");
      const parsed = records.map((r) => ({
        kind: r.kind,
        clusterId: r.clusterId,
        name: r.name,
        revision: r.revision,
        value: JSON.parse(r.valueJson) as unknown,
      }));
      writeFileSync(join(dir, "broker-records.json"), `${JSON.stringify({ revision, records: parsed }, null, 2)}\n`);
    } finally {
      admin.close();
    }
    for (const c of lab.state.clusters) {
      const cdir = join(dir, c.spec.id);
      mkdirSync(cdir, { recursive: true });
      if (lab.state.kube) {
        const client = await lab.kubeClient(c.spec.id);
        try {
          await gatherApi(client, cdir);
        } finally {
          client.close();
        }
      }
      for (const n of c.spec.nodes) {
        const lines: string[] = [];
        for (const argv of NODE_COMMANDS) {
          const r = await lab.exec(`${c.spec.id}/${n.name}`, argv);
          lines.push(`### ${argv.join(" ")} (exit ${r.exitCode})`, r.stdout.trimEnd(), r.stderr.trim() ? `stderr: ${r.stderr.trim()}` : "", "");
        }
        writeFileSync(join(cdir, `node-${n.name}.txt`), lines.join("\n"));
      }
    }
    const files = countFiles(dir);
    execFileSync("tar", ["-czf", out, "-C", root, basename(dir)]);
    return { archive: out, files };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/** `causeway benchmark` on a lab: TCP throughput (iperf3) or ICMP latency between pods on non-gateway nodes of two clusters. */
export async function benchmarkLab(lab: Lab, a: string, b: string, what: "throughput" | "latency"): Promise<string> {
  const pod = (id: string) => {
    const c = lab.cluster(id);
    const n = c.spec.nodes.at(-1);
    return `${id}/${n?.name}/${n?.pods[0]?.name}`;
  };
  const [src, dst] = [pod(a), pod(b)];
  const ip = lab.resolve(dst).ip;
  if (what === "latency") {
    const r = await lab.exec(src, ["ping", "-n", "-q", "-c", "20", "-i", "0.2", ip], 30_000);
    const rtt = /= ([\d.]+)\/([\d.]+)\/([\d.]+)\/([\d.]+) ms/.exec(r.stdout);
    const loss = /(\d+(?:\.\d+)?)% packet loss/.exec(r.stdout)?.[1];
    if (!rtt) throw new LabError(`ping ${src} → ${dst} (${ip}) failed: ${r.stdout.trim() || r.stderr.trim()}`);
    return `latency ${src} → ${dst} (${ip}), 20 pings: min ${rtt[1]} ms  avg ${rtt[2]} ms  max ${rtt[3]} ms  mdev ${rtt[4]} ms  loss ${loss}%`;
  }
  const server = lab.exec(dst, ["iperf3", "-s", "-1", "-p", "5201"], 60_000);
  await new Promise((r) => setTimeout(r, 500));
  const r = await lab.exec(src, ["iperf3", "-c", ip, "-p", "5201", "-t", "5", "-J"], 60_000);
  await server;
  if (r.exitCode !== 0) throw new LabError(`iperf3 ${src} → ${dst} (${ip}) failed: ${r.stderr.trim() || r.stdout.slice(0, 300)}`);
  const res = JSON.parse(r.stdout) as { end?: { sum_received?: { bits_per_second?: number }; sum_sent?: { retransmits?: number } } };
  const gbps = (res.end?.sum_received?.bits_per_second ?? 0) / 1e9;
  return `throughput ${src} → ${dst} (${ip}), TCP 5 s: ${gbps.toFixed(2)} Gbit/s received, ${res.end?.sum_sent?.retransmits ?? 0} retransmits`;
}
