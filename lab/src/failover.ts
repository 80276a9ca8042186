import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { isIPv4 } from "@causeway/api";
import type { Lab } from "./lab.ts";
import { REPO_ROOT } from "./paths.ts";
import { alive } from "./processes.ts";
import { until } from "./until.ts";
import { LabError } from "./errors.ts";

/** How the active gateway is made to fail. */
export const FAILURE_KINDS = ["kill", "link", "stop"] as const;
/** The longest outage the README promises per failure kind (both modes, both drivers); the failover e2e asserts exactly these. */
export const OUTAGE_BOUND_MS = { kill: 1200, link: 2000, stop: 1200 } as const satisfies Record<(typeof FAILURE_KINDS)[number], number>;
export type FailureKind = (typeof FAILURE_KINDS)[number];
/**
 * Kubernetes mode, the active gateway's underlay link cut: the longest outage the README promises.
 * The successor's Endpoint crosses its API server, the broker and each remote cluster's API server
 * before the remote gateways move their cables, and each hop is a reconcile pass that spawns its
 * tools on a busy node (measured on the 2-core lab machine: 2.4–4.7 s in five runs of today's
 * code, 2.5 s before active-active's per-pass work; 3.4 s in a CI run); standalone mode keeps
 * OUTAGE_BOUND_MS.link.
 */
export const KUBE_LINK_OUTAGE_BOUND_MS = 5000;

/** What a probe (lab/src/tools/probe.ts) reports. */
export interface ProbeResult {
  readonly sent: number;
  readonly answered: number;
  readonly neverAnswered: boolean;
  readonly lostAtStart: number;
  readonly lostAtEnd: number;
  readonly outages: readonly { fromMs: number; ms: number; lost: number }[];
  readonly maxOutageMs: number;
  /** Wall-clock time (ms since the epoch) the outages' fromMs count from. */
  readonly originMs: number;
}

/** The node of a cluster's active gateway: the host of its current Endpoint at the broker ("" when none). */
export async function activeGateway(lab: Lab, clusterId: string): Promise<string> {
  const admin = lab.admin();
  try {
    const { records } = await admin.list("endpoint");
    // The newest endpoint of the cluster wins (as every component reads it).
    const mine = records.filter((r) => r.clusterId === clusterId).sort((a, b) => Number(b.createRevision) - Number(a.createRevision));
    return mine[0] ? (JSON.parse(mine[0].valueJson) as { hostname: string }).hostname : "";
  } finally {
    admin.close();
  }
}

/** The nodes of a cluster's Endpoints at the broker (several in active-active mode), sorted. */
export async function endpointNodes(lab: Lab, clusterId: string): Promise<string[]> {
  const admin = lab.admin();
  try {
    const { records } = await admin.list("endpoint");
    return records
      .filter((r) => r.clusterId === clusterId)
      .map((r) => (JSON.parse(r.valueJson) as { hostname: string }).hostname)
      .sort();
  } finally {
    admin.close();
  }
}

/** Each gateway's reported HA status in a cluster, by node. */
export async function haStatuses(lab: Lab, clusterId: string): Promise<Record<string, string>> {
  const admin = lab.admin();
  try {
    const { records } = await admin.list("gateway");
    const out: Record<string, string> = {};
    for (const r of records) if (r.clusterId === clusterId) out[r.name] = (JSON.parse(r.valueJson) as { haStatus: string }).haStatus;
    return out;
  } finally {
    admin.close();
  }
}

/** Continuous UDP probes (one every `intervalMs`) between pods, each direction its own process. */
export class Probes {
  readonly #procs: { name: string; child: ChildProcess; out: string }[] = [];

  /** `to`: a lab target (its address), or an address (`port` then: a global IP, a service's); `srcPort`: the probe's own UDP port (its flow known in advance), named `from→to:srcPort`. */
  constructor(lab: Lab, pairs: readonly (readonly [from: string, to: string, srcPort?: number])[], intervalMs = 20, port?: number) {
    for (const [from, to, srcPort] of pairs) {
      const argv = [
        lab.state.nodeBin,
        join(REPO_ROOT, "lab/src/tools/probe.ts"),
        "--host",
        isIPv4(to) ? to : lab.resolve(to).ip,
        ...(port ? ["--port", String(port)] : []),
        ...(srcPort ? ["--src-port", String(srcPort)] : []),
        "--interval",
        String(intervalMs),
        "--seconds",
        "300",
      ];
      const child = spawn("ip", ["netns", "exec", lab.resolve(from).ns, ...argv], { stdio: ["ignore", "pipe", "ignore"] });
      const entry = { name: `${from}→${to}${srcPort ? `:${srcPort}` : ""}`, child, out: "" };
      child.stdout?.on("data", (b: Buffer) => (entry.out += b.toString()));
      this.#procs.push(entry);
    }
  }

  /** Resolves once every probe has had an answer (a working path: inject faults after this); else stops them all and rejects after `timeoutMs`, naming the silent ones. */
  async answering(timeoutMs = 10_000): Promise<void> {
    await until("every probe answered once", async () => (this.#procs.every((p) => p.out.includes('"answering"')) ? true : undefined), timeoutMs).catch(
      (err: unknown) => {
        const silent = this.#procs.filter((p) => !p.out.includes('"answering"')).map((p) => p.name);
        for (const p of this.#procs) p.child.kill("SIGKILL"); // nothing left running after the failure
        throw new LabError(`no answer yet from ${silent.join(", ")} within ${timeoutMs} ms`, { cause: err });
      },
    );
  }

  /** Stops every probe and returns its report (its last line), by direction. */
  async stop(): Promise<Record<string, ProbeResult>> {
    const done = this.#procs.map((p) => new Promise<void>((r) => (p.child.exitCode !== null ? r() : p.child.once("close", () => r()))));
    for (const p of this.#procs) p.child.kill("SIGTERM");
    await Promise.all(done);
    return Object.fromEntries(this.#procs.map((p) => [p.name, JSON.parse(p.out.trim().split("\n").at(-1) || "{}") as ProbeResult]));
  }
}

/** Makes `node`'s gateway in `clusterId` fail the `kind` way. */
export async function failGateway(lab: Lab, clusterId: string, node: string, kind: FailureKind): Promise<void> {
  if (kind === "link") {
    await lab.exec(`${clusterId}/${node}`, ["ip", "link", "set", "ul0", "down"]);
    return;
  }
  const role = `gateway/${node}`;
  const p = lab.cluster(clusterId).processes.find((x) => x.role === role);
  if (!p) throw new LabError(`no ${role} process in ${clusterId} (a Kubernetes-tier gateway is a pod: kill its container, or lab.restart deletes its pod)`);
  process.kill(p.pid, kind === "kill" ? "SIGKILL" : "SIGTERM");
}

/** Undoes `failGateway`: the process is started again, or the link comes back up. */
export async function recoverGateway(lab: Lab, clusterId: string, node: string, kind: FailureKind): Promise<void> {
  if (kind === "link") {
    await lab.exec(`${clusterId}/${node}`, ["ip", "link", "set", "ul0", "up"]);
    return;
  }
  const p = lab.cluster(clusterId).processes.find((x) => x.role === `gateway/${node}`);
  if (p) await until(`gateway/${node} in ${clusterId} exits`, async () => (alive(p.pid) ? undefined : true), 5000);
  await lab.restart(clusterId, `gateway/${node}`);
}

/** Waits until `clusterId`'s active gateway is another node than `was`; returns it. */
export async function waitFailover(lab: Lab, clusterId: string, was: string, timeoutMs = 10_000): Promise<string> {
  let now = "";
  await until(
    `${clusterId}'s gateway moves off ${was}`,
    async () => {
      now = await activeGateway(lab, clusterId);
      return now !== "" && now !== was ? true : undefined;
    },
    timeoutMs,
  );
  return now;
}

/** Cuts (`on`) or heals a gateway node's path to the broker alone: its cables and the data path stay up (a split brain in the making). */
export async function partitionFromBroker(lab: Lab, clusterId: string, node: string, on: boolean): Promise<void> {
  const broker = lab.state.broker.address.split(":")[0] ?? "";
  await lab.exec(`${clusterId}/${node}`, ["iptables", on ? "-I" : "-D", "OUTPUT", "-d", broker, "-j", "DROP"]);
}

/** The routes in a node's cable table (100): what a gateway carrying cables has, and nothing else should. */
export async function cableRoutes(lab: Lab, target: string): Promise<string[]> {
  const r = await lab.exec(target, ["ip", "-4", "route", "show", "table", "100"]);
  return r.stdout.split("\n").filter((l) => l.trim());
}

/**
 * Throws unless traffic resumed in every direction (answered, none lost at the end) with no
 * outage over `maxOutageMs`; returns a one-line summary ("dir N ms, …") for the test log.
 */
export function assertResumed(results: Record<string, ProbeResult>, label: string, maxOutageMs: number): string {
  for (const [dir, r] of Object.entries(results)) {
    if (!(r.answered > 0 && r.lostAtEnd === 0)) throw new LabError(`${label} ${dir}: traffic did not resume: ${JSON.stringify(r)}`);
    if (r.maxOutageMs > maxOutageMs) throw new LabError(`${label} ${dir}: outage ${r.maxOutageMs} ms (more than ${maxOutageMs} ms)`);
  }
  return Object.entries(results)
    .map(([d, r]) => `${d} ${r.maxOutageMs} ms`)
    .join(", ");
}
