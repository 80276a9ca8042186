import { writeFileSync } from "node:fs";
import type { Command } from "commander";
import type { CheckResult } from "@causeway/common";
import { labModule, openLab } from "../labs.ts";

interface VerifyFlags {
  lab?: string;
  context?: string;
  junitReport?: string;
  discovery: boolean;
  pods: boolean;
  kubeconfig?: string;
}

/** verify through two clusters' APIs: --kubeconfig (one, or one per context) and --context a,b. */
async function verifyContexts(o: VerifyFlags): Promise<CheckResult[]> {
  const { connectPair } = await import("../kube/pair.ts");
  const { verifyKube } = await import("./kube.ts");
  const [a, b] = await connectPair(o);
  try {
    console.log(
      `Verifying ${a.context} ↔ ${b.context} through their API servers${o.pods ? `, with test pods in namespace causeway-verify (removed after)` : ""}`,
    );
    return await verifyKube(a, b, { discovery: o.discovery, pods: o.pods });
  } finally {
    a.close();
    b.close();
  }
}

/** `causeway verify`: connectivity and discovery checks between two clusters, pass/fail per check; exit 1 when any fails. */
export function verifyCommands(program: Command): void {
  program
    .command("verify")
    .description("check connectivity and service discovery between two clusters: a line per check, exit 1 if any fails")
    .option("--context <a,b>", "the two clusters (lab clusters; default: the first two)")
    .option("--lab <name>", "which lab, when several run")
    .option("--kubeconfig <files>", "real clusters: one kubeconfig, or one per context (a.yaml,b.yaml); the checks run through their APIs")
    .option("--no-discovery", "skip the service discovery check")
    .option("--no-pods", "with --kubeconfig: skip the checks from test pods (pod ↔ pod with the source kept, the other cluster's Service by IP and by name)")
    .option("--junit-report <file>", "also write the results as JUnit XML")
    .addHelpText(
      "after",
      "\nExamples:\n  causeway verify\n  causeway verify --context c1,c3 --junit-report verify.xml\n  causeway verify --kubeconfig east.yaml,west.yaml --context east,west",
    )
    .action(async (o: VerifyFlags) => {
      const { ValidationError } = await import("@causeway/api");
      const { junitReport } = await import("@causeway/common");
      const report = (results: readonly CheckResult[]) => {
        for (const r of results) console.log(` ${r.ok ? "✓" : "✗"} ${r.name} (${r.ms} ms)${r.ok ? "" : `: ${r.detail}`}`);
        const failed = results.filter((r) => !r.ok);
        if (o.junitReport) writeFileSync(o.junitReport, junitReport(results));
        console.log(failed.length ? ` ✗ ${failed.length} of ${results.length} checks failed` : ` ✓ all ${results.length} checks passed`);
        if (failed.length) process.exitCode = 1;
      };
      if (o.kubeconfig) {
        report(await verifyContexts(o));
        return;
      }
      const lab = await openLab(o.lab);
      const ids = o.context ? o.context.split(",").map((x) => x.trim()) : lab.state.clusters.slice(0, 2).map((c) => c.spec.id);
      const [a, b] = ids;
      if (!a || !b || ids.length !== 2 || a === b)
        throw new ValidationError(
          `--context takes two different clusters, e.g. c1,c2 (lab ${lab.state.name} has ${lab.state.clusters.map((c) => c.spec.id).join(", ")})`,
        );
      for (const id of ids) lab.cluster(id); // a clear error for an unknown one
      console.log(`Verifying ${a} ↔ ${b} in lab ${lab.state.name}`);
      report(await (await labModule()).verifyLab(lab, a, b, { discovery: o.discovery }));
    });
}
