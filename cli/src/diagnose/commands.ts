import type { CheckResult, kube as Kube } from "@causeway/common";
import { type Lab, labModule } from "../labs.ts";
import type { Command } from "commander";

/** Each cluster's active gateway's view of its connections: one finding per connection not connected, with what to do. */
async function diagnoseConnections(lab: Lab): Promise<CheckResult[]> {
  const conns = await lab.connections();
  const out: CheckResult[] = [];
  for (const c of lab.state.clusters) {
    const id = c.spec.id;
    for (const other of lab.state.clusters) {
      if (other === c) continue;
      const x = conns.get(id)?.find((k) => k.endpoint.cluster_id === other.spec.id);
      const name = `connection ${id} → ${other.spec.id}`;
      if (x?.status === "connected") out.push({ name, ok: true, ms: 0, detail: "connected" });
      else
        out.push({
          name,
          ok: false,
          ms: 0,
          detail: x
            ? `${x.status}${x.statusMessage ? `: ${x.statusMessage}` : ""} — check that both gateways run ('causeway show gateways') and that the cable's UDP port (4500 unless join --nattport) passes between them ('causeway diagnose firewall')`
            : `${id}'s active gateway reports no connection to ${other.spec.id} — is a gateway of ${id} running and active ('causeway show gateways')?`,
        });
    }
  }
  return out;
}

const LAB_CHECKS: Record<string, (lab: Lab) => Promise<CheckResult[]>> = {
  connections: diagnoseConnections,
  firewall: async (lab) => (await labModule()).diagnoseFirewall(lab),
  globalnet: async (lab) => (await labModule()).diagnoseGlobalnet(lab),
};
const API_CHECKS = ["k8s-version", "deployment", "service-discovery", "kube-proxy-mode", "cni"];
/** Lab checks that, with --kubeconfig, run against each named cluster (the others take two clusters). */
const PER_CLUSTER: Record<string, (client: Kube.KubeClient) => Promise<CheckResult[]>> = {
  globalnet: async (client) => (await import("./globalnet.ts")).globalnetKube(client),
};

interface DiagnoseFlags {
  lab?: string;
  kubeconfig?: string;
  context?: string;
}

type Print = (results: readonly CheckResult[]) => void;

/** The clusters --kubeconfig and --context name: one file for every context, or one file per context (each file's current context without --context). */
async function targetsOf(o: DiagnoseFlags): Promise<{ kubeconfig: string; context: string | undefined }[]> {
  const files = (o.kubeconfig ?? "").split(",").map((x) => x.trim());
  const contexts = o.context ? o.context.split(",").map((x) => x.trim()) : files.map(() => undefined);
  if (files.length !== 1 && files.length !== contexts.length) {
    const { ValidationError } = await import("@causeway/api");
    throw new ValidationError("--kubeconfig takes one file, or one per context (a.yaml,b.yaml with --context a,b)");
  }
  return contexts.map((context, i) => ({ kubeconfig: files[files.length === 1 ? 0 : i] ?? "", context }));
}

/** The checks between two clusters (firewall, connections), when exactly two are named. */
async function runPair(pair: readonly string[], clients: readonly Kube.KubeClient[], print: Print): Promise<void> {
  const [a, b] = clients;
  if (!pair.length) return;
  if (!a || !b || clients.length !== 2) {
    console.log(` • ${pair.join(", ")}: between two clusters — name them: --kubeconfig a.yaml,b.yaml or --context a,b`);
    return;
  }
  const { connectionsKube, firewallKube } = await import("./firewall.ts");
  for (const n of pair) {
    const pods = n === "firewall" ? " (test pods on both gateway nodes, namespace causeway-diagnose, removed after)" : "";
    console.log(`Checking ${n} between ${a.context} and ${b.context}${pods}`);
    print(n === "firewall" ? await firewallKube(a, b) : await connectionsKube([a, b]));
  }
}

/** The API checks against each cluster; then the checks between two clusters (firewall, connections) when two are named. */
async function runApi(api: readonly string[], pair: readonly string[], o: DiagnoseFlags, print: Print): Promise<void> {
  const { KUBE_CHECKS } = await import("./kube.ts");
  const { kube } = await import("@causeway/common");
  const targets = await targetsOf(o);
  const clients: Kube.KubeClient[] = [];
  try {
    for (const t of targets) clients.push(await kube.KubeClient.connect({ ...t, timeoutMs: 5000 }));
    for (const client of clients) {
      for (const n of api) {
        console.log(`Checking ${n}${targets.length > 1 || o.context ? ` in ${client.context}` : ""}`);
        print(await (KUBE_CHECKS[n] ?? PER_CLUSTER[n] ?? (async () => []))(client));
      }
    }
    await runPair(
      pair.filter((n) => !PER_CLUSTER[n]),
      clients,
      print,
    );
  } finally {
    for (const c of clients) c.close();
  }
}

/** The lab checks, and the API checks against each cluster of a Kubernetes-tier lab. */
async function runLab(labNames: readonly string[], api: readonly string[], o: DiagnoseFlags, print: Print): Promise<void> {
  const { KUBE_CHECKS } = await import("./kube.ts");
  const { Lab } = await labModule();
  const lab = Lab.open(o.lab);
  for (const n of labNames) {
    console.log(`Checking ${n}`);
    print(await (LAB_CHECKS[n] ?? (async () => []))(lab));
  }
  if (api.length && !lab.state.kube) console.log(` • ${api.join(", ")}: checks of a Kubernetes API (a lab started with --kube, or --kubeconfig)`);
  for (const c of lab.state.kube ? lab.state.clusters : []) {
    const client = await lab.kubeClient(c.spec.id);
    try {
      for (const n of api) {
        console.log(`Checking ${n} in ${c.spec.id}`);
        print(await (KUBE_CHECKS[n] ?? (async () => []))(client));
      }
    } finally {
      client.close();
    }
  }
}

/** Runs the named checks; returns how many failed. Lab checks on a lab; API checks per context (or each cluster of a Kubernetes-tier lab). */
async function run(names: readonly string[], o: DiagnoseFlags): Promise<number> {
  let failed = 0;
  const print: Print = (results) => {
    for (const r of results) {
      console.log(` ${r.ok ? "✓" : "✗"} ${r.name}${r.ok ? "" : `: ${r.detail}`}`);
      if (!r.ok) failed++;
    }
  };
  const api = names.filter((n) => API_CHECKS.includes(n));
  const labNames = names.filter((n) => LAB_CHECKS[n]);
  if (o.kubeconfig) {
    await runApi([...api, ...labNames.filter((n) => PER_CLUSTER[n])], labNames, o, print);
  } else {
    await runLab(labNames, api, o, print);
  }
  return failed;
}

/** `causeway diagnose all|connections|firewall|k8s-version|deployment|service-discovery|kube-proxy-mode|cni`: findings with what to do; exit 1 when any check fails. */
export function diagnoseCommands(program: Command): void {
  const all = [...Object.keys(LAB_CHECKS), ...API_CHECKS];
  program
    .command("diagnose")
    .description("look for what keeps the clusterset from working: a line per check, each failure with what to do")
    .argument("[what]", `all | ${all.join(" | ")}`, "all")
    .option("--lab <name>", "which lab, when several run")
    .option(
      "--kubeconfig <files>",
      "check real clusters through their API servers: one kubeconfig, or one per context; firewall and connections take two clusters (firewall with test pods on their gateway nodes); globalnet checks each cluster's gateway table with a test pod on its node",
    )
    .option("--context <names>", "kubeconfig context(s), comma-separated")
    .addHelpText(
      "after",
      "\nExamples:\n  causeway diagnose firewall\n  causeway diagnose deployment --kubeconfig k.yaml --context east\n  causeway diagnose firewall --kubeconfig east.yaml,west.yaml",
    )
    .action(async (what: string, o: DiagnoseFlags) => {
      if (what !== "all" && !all.includes(what)) {
        const { ValidationError } = await import("@causeway/api");
        throw new ValidationError(`unknown check "${what}"; use all, ${all.join(", ")}`);
      }
      const failed = await run(what === "all" ? all : [what], o);
      console.log(failed ? ` ✗ ${failed} problem(s) found` : " ✓ no problems found");
      if (failed) process.exitCode = 1;
    });
  // Run by `diagnose globalnet --kubeconfig` in a pod on the gateway's node (the image's own CLI): not for users.
  program
    .command("diagnose-node", { hidden: true })
    .argument("<what>", "globalnet")
    .requiredOption("--expect <json>", "what the node should hold")
    .option("--report <file>", "where the findings go (JSON; default stdout)")
    .action(async (what: string, o: { expect: string; report?: string }) => {
      const { ValidationError } = await import("@causeway/api");
      if (what !== "globalnet") throw new ValidationError(`unknown node check "${what}"; use globalnet`);
      const { diagnoseNodeGlobalnet } = await import("./globalnet.ts");
      if (await diagnoseNodeGlobalnet(o.expect, o.report)) process.exitCode = 1;
    });
}
