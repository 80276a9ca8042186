import { join } from "node:path";
import { type CheckResult, kube } from "@causeway/common";
import type { Lab } from "./lab.ts";
import { LabError } from "./errors.ts";

const VERIFY_NS = "causeway-verify";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A pod on the last node of a cluster (a non-gateway node where there is one). */
function lastPod(lab: Lab, id: string): string {
  const c = lab.cluster(id);
  const node = c.spec.nodes.at(-1);
  const pod = node?.pods[0];
  if (!node || !pod) throw new LabError(`cluster ${id} has no pod to check from`);
  return `${id}/${node.name}/${pod.name}`;
}

async function timed(name: string, f: () => Promise<string>): Promise<CheckResult> {
  const t0 = performance.now();
  try {
    const detail = await f();
    return { name, ok: true, detail, ms: Math.round(performance.now() - t0) };
  } catch (err) {
    return { name, ok: false, detail: err instanceof Error ? err.message : String(err), ms: Math.round(performance.now() - t0) };
  }
}

/** Runs a lab tool (a script of the checkout) in a pod; its stdout, or an error with what it printed. */
async function tool(lab: Lab, from: string, script: string, args: readonly string[]): Promise<string> {
  const r = await lab.exec(from, [process.execPath, join(lab.repoRoot, script), ...args], 20_000);
  if (r.exitCode !== 0) throw new LabError((r.stdout.trim() || r.stderr.trim() || `exit ${r.exitCode}`).split("\n")[0]);
  return r.stdout.trim();
}

/**
 * `causeway verify` on a lab: between clusters a and b, the gateways' connections both ways,
 * pod → pod TCP both ways from the clusters' last nodes with the client's own IP seen, pod →
 * the other cluster's service VIP, and service discovery (a throw-away service in b, exported,
 * resolved and reached by name from a, removed again). Each check is bounded in time.
 */
export async function verifyLab(lab: Lab, a: string, b: string, o: { discovery?: boolean } = {}): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  const conns = await lab.connections().catch(() => new Map<string, { endpoint: { cluster_id: string }; status: string; statusMessage?: string }[]>());
  for (const [from, to] of [
    [a, b],
    [b, a],
  ] as const) {
    out.push(
      await timed(`connection ${from} → ${to}`, async () => {
        const c = conns.get(from)?.find((x) => x.endpoint.cluster_id === to);
        if (!c) throw new LabError(`${from}'s active gateway reports no connection to ${to}`);
        if (c.status !== "connected") throw new LabError(`${from}'s gateway reports ${to} ${c.status}${c.statusMessage ? `: ${c.statusMessage}` : ""}`);
        return "connected";
      }),
    );
  }
  for (const [from, to] of [
    [a, b],
    [b, a],
  ] as const) {
    const src = lastPod(lab, from);
    const dst = lastPod(lab, to);
    out.push(
      await timed(`pod ${src} → pod ${dst} (TCP, source IP kept)`, async () => {
        const ip = lab.resolve(dst).ip;
        const said = await tool(lab, src, "lab/src/tools/client.ts", ["--host", ip, "--port", "8080"]);
        const seen = /sees ([\d.]+):/.exec(said)?.[1];
        if (seen !== lab.resolve(src).ip)
          throw new LabError(`the server saw ${seen ?? "nothing"}, not the client's ${lab.resolve(src).ip} (source NAT on the way?)`);
        return said;
      }),
    );
  }
  const vip = lab.cluster(b).spec.services[0];
  if (vip) {
    const src = lastPod(lab, a);
    out.push(
      await timed(`pod ${src} → service ${vip.name} VIP ${vip.vip}:${vip.port} in ${b}`, () =>
        tool(lab, src, "lab/src/tools/client.ts", ["--host", vip.vip, "--port", String(vip.port)]),
      ),
    );
  }
  if (o.discovery !== false) out.push(await verifyDiscovery(lab, a, b));
  return out;
}

/** A throw-away service in b, exported; a's pod must resolve and reach it by name within 20 s. Cleaned up whatever happens. */
async function verifyDiscovery(lab: Lab, a: string, b: string): Promise<CheckResult> {
  const name = `verify-${Date.now().toString(36)}`;
  const fqdn = `${name}.${VERIFY_NS}.svc.clusterset.local`;
  const src = lastPod(lab, a);
  return timed(`discovery ${a} → ${b}: ${fqdn} resolves and answers`, async () => {
    await lab.addService(`${b}/${VERIFY_NS}/${name}`, { pods: 1 });
    try {
      await exportIn(lab, b, name, true);
      let last = "";
      for (const end = Date.now() + 20_000; Date.now() < end; await sleep(300)) {
        const r = await lab.exec(src, [process.execPath, join(lab.repoRoot, "lab/src/tools/get.ts"), "--host", fqdn], 10_000);
        last = r.stdout.trim();
        if (r.exitCode === 0 && last.includes(`${b}/${name}-0`)) return `answered by ${b}/${name}-0`;
      }
      throw new LabError(`no answer from ${b} within 20 s (last: ${last || "nothing"})`);
    } finally {
      await exportIn(lab, b, name, false).catch(() => undefined);
      await lab.removeService(`${b}/${VERIFY_NS}/${name}`).catch(() => undefined);
    }
  });
}

/** Exports (or unexports) a lab service: a ServiceExport in the Kubernetes tier, the broker record standalone. */
async function exportIn(lab: Lab, cluster: string, name: string, on: boolean): Promise<void> {
  if (lab.state.kube) {
    const client = await lab.kubeClient(cluster);
    try {
      if (on) await client.apply(kube.R.serviceExport, { metadata: { name, namespace: VERIFY_NS } }, { fieldManager: "causeway-verify" });
      else await client.delete(kube.R.serviceExport, VERIFY_NS, name);
    } finally {
      client.close();
    }
    return;
  }
  const argv = [
    process.execPath,
    join(lab.repoRoot, "cli/src/main.ts"),
    on ? "export" : "unexport",
    "service",
    name,
    "-n",
    VERIFY_NS,
    "--context",
    cluster,
    "--lab",
    lab.state.name,
  ];
  const r = await lab.exec(`${cluster}/n0`, argv, 30_000);
  if (r.exitCode !== 0) throw new LabError(`causeway ${argv.slice(2).join(" ")}: ${r.stderr.trim() || r.stdout.trim()}`);
}
