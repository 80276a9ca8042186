import type { CheckResult } from "@causeway/common";
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
};
const API_CHECKS = ["k8s-version", "deployment", "service-discovery", "kube-proxy-mode", "cni"];

interface DiagnoseFlags {
  lab?: string;
  kubeconfig?: string;
  context?: string;
}

type Print = (results: readonly CheckResult[]) => void;

/** The API checks against each context of a kubeconfig. */
async function runApi(api: readonly string[], o: DiagnoseFlags, print: Print): Promise<void> {
  const { KUBE_CHECKS } = await import("./kube.ts");
  const { kube } = await import("@causeway/common");
  for (const context of o.context ? o.context.split(",") : [undefined]) {
    const client = await kube.KubeClient.connect({ kubeconfig: o.kubeconfig, context, timeoutMs: 5000 });
    try {
      for (const n of api) {
        console.log(`Checking ${n}${context ? ` in ${context}` : ""}`);
        print(await (KUBE_CHECKS[n] ?? (async () => []))(client));
      }
    } finally {
      client.close();
    }
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
    await runApi(api, o, print);
    if (labNames.length) console.log(` • ${labNames.join(", ")}: these checks run on labs (--lab) only so far`);
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
    .option("--kubeconfig <file>", "check clusters through their API servers (API checks)")
    .option("--context <names>", "kubeconfig context(s), comma-separated")
    .addHelpText("after", "\nExamples:\n  causeway diagnose firewall\n  causeway diagnose deployment --kubeconfig k.yaml --context east")
    .action(async (what: string, o: DiagnoseFlags) => {
      if (what !== "all" && !all.includes(what)) {
        const { ValidationError } = await import("@causeway/api");
        throw new ValidationError(`unknown check "${what}"; use all, ${all.join(", ")}`);
      }
      const failed = await run(what === "all" ? all : [what], o);
      console.log(failed ? ` ✗ ${failed} problem(s) found` : " ✓ no problems found");
      if (failed) process.exitCode = 1;
    });
}
