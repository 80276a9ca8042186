import type { Command } from "commander";
import type { Target } from "./actions.ts";

const targetOptions = (cmd: Command) =>
  cmd
    .requiredOption("-n, --namespace <ns>", "the service's namespace")
    .option("--site <file>", "standalone: the cluster's site file")
    .option("--lab <name>", "which lab, when several run")
    .option("--context <cluster>", "the kubeconfig context, or the lab cluster to act on (c1, c2, …)")
    .option("--kubeconfig <file>", "Kubernetes mode: create the ServiceExport through this kubeconfig");

/** `causeway export service` / `unexport service` (the work is in actions.ts, loaded when they run). */
export function exportCommands(program: Command): void {
  targetOptions(
    program
      .command("export")
      .description("export a service to the clusterset (MCS ServiceExport): other clusters resolve <name>.<ns>.svc.clusterset.local")
      .command("service")
      .argument("<name>", "the service")
      .addHelpText(
        "after",
        "\nExamples:\n  causeway export service nginx -n test --kubeconfig k.yaml --context east\n  causeway export service echo -n default --site site.yaml",
      ),
  ).action(async (name: string, o: Target) => (await import("./actions.ts")).exportService(name, o));
  targetOptions(program.command("unexport").description("stop exporting a service").command("service").argument("<name>", "the service")).action(
    async (name: string, o: Target) => (await import("./actions.ts")).unexportService(name, o),
  );
}
