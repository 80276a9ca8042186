import type { CheckResult, Lab } from "@causeway/e2e";
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
            ? `${x.status}${x.statusMessage ? `: ${x.statusMessage}` : ""} — check that both gateways run ('causeway show gateways') and that UDP 4500 passes between them ('causeway diagnose firewall')`
            : `${id}'s active gateway reports no connection to ${other.spec.id} — is a gateway of ${id} running and active ('causeway show gateways')?`,
        });
    }
  }
  return out;
}

const CHECKS: Record<string, (lab: Lab) => Promise<CheckResult[]>> = {
  connections: diagnoseConnections,
  firewall: async (lab) => (await import("@causeway/e2e")).diagnoseFirewall(lab),
};

/** `causeway diagnose all|connections|firewall`: findings with what to do; exit 1 when any check fails. */
export function diagnoseCommands(program: Command): void {
  program
    .command("diagnose")
    .description("look for what keeps the clusterset from working: a line per check, each failure with what to do")
    .argument("[what]", `all | ${Object.keys(CHECKS).join(" | ")}`, "all")
    .option("--lab <name>", "which lab, when several run")
    .addHelpText("after", "\nExamples:\n  causeway diagnose firewall\n  causeway diagnose all --lab cw")
    .action(async (what: string, o: { lab?: string }) => {
      const names = what === "all" ? Object.keys(CHECKS) : [what];
      for (const n of names) if (!CHECKS[n]) throw new Error(`unknown check "${what}"; use all, ${Object.keys(CHECKS).join(", ")}`);
      const { Lab } = await import("@causeway/e2e");
      const lab = Lab.open(o.lab);
      let failed = 0;
      for (const n of names) {
        console.log(`Checking ${n}`);
        for (const r of await (CHECKS[n] ?? (async () => []))(lab)) {
          console.log(` ${r.ok ? "✓" : "✗"} ${r.name}${r.ok ? "" : `: ${r.detail}`}`);
          if (!r.ok) failed++;
        }
      }
      console.log(failed ? ` ✗ ${failed} problem(s) found` : " ✓ no problems found");
      if (failed) process.exitCode = 1;
    });
}
