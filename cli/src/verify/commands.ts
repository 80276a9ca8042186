import { writeFileSync } from "node:fs";
import type { Command } from "commander";

interface VerifyFlags {
  lab?: string;
  context?: string;
  junitReport?: string;
  discovery: boolean;
  kubeconfig?: string;
}

/** `causeway verify`: connectivity and discovery checks between two clusters, pass/fail per check; exit 1 when any fails. */
export function verifyCommands(program: Command): void {
  program
    .command("verify")
    .description("check connectivity and service discovery between two clusters: a line per check, exit 1 if any fails")
    .option("--context <a,b>", "the two clusters (lab clusters; default: the first two)")
    .option("--lab <name>", "which lab, when several run")
    .option("--kubeconfig <file>", "real clusters (not yet: the checks run from lab pods)")
    .option("--no-discovery", "skip the service discovery check")
    .option("--junit-report <file>", "also write the results as JUnit XML")
    .addHelpText("after", "\nExamples:\n  causeway verify\n  causeway verify --context c1,c3 --junit-report verify.xml")
    .action(async (o: VerifyFlags) => {
      const { ValidationError } = await import("@causeway/api");
      const { junitReport, Lab, verifyLab } = await import("@causeway/e2e");
      if (o.kubeconfig) {
        throw new ValidationError("verify runs its checks from lab pods; against real clusters it is not available yet (run it on a lab: causeway lab up)");
      }
      const lab = Lab.open(o.lab);
      const ids = o.context ? o.context.split(",").map((x) => x.trim()) : lab.state.clusters.slice(0, 2).map((c) => c.spec.id);
      const [a, b] = ids;
      if (!a || !b || ids.length !== 2 || a === b)
        throw new ValidationError(
          `--context takes two different clusters, e.g. c1,c2 (lab ${lab.state.name} has ${lab.state.clusters.map((c) => c.spec.id).join(", ")})`,
        );
      for (const id of ids) lab.cluster(id); // a clear error for an unknown one
      console.log(`Verifying ${a} ↔ ${b} in lab ${lab.state.name}`);
      const results = await verifyLab(lab, a, b, { discovery: o.discovery });
      for (const r of results) console.log(` ${r.ok ? "✓" : "✗"} ${r.name} (${r.ms} ms)${r.ok ? "" : `: ${r.detail}`}`);
      const failed = results.filter((r) => !r.ok);
      if (o.junitReport) writeFileSync(o.junitReport, junitReport(results));
      console.log(failed.length ? ` ✗ ${failed.length} of ${results.length} checks failed` : ` ✓ all ${results.length} checks passed`);
      if (failed.length) process.exitCode = 1;
    });
}
