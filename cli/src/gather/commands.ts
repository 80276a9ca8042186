import type { Command } from "commander";
import { labModule, openLab } from "../labs.ts";

/** `causeway gather` and `causeway benchmark` (labs). */
export function gatherCommands(program: Command): void {
  program
    .command("gather")
    .description("collect logs, broker records, API objects and each node's network state into one archive (credentials left out)")
    .option("--lab <name>", "which lab, when several run")
    .option("--kubeconfig <file>", "gather Causeway's objects from clusters' API servers instead (no pod logs)")
    .option("--context <names>", "kubeconfig context(s), comma-separated")
    .option("-o, --out <file>", "the archive", `causeway-gather-${new Date().toISOString().slice(0, 19).replace(/[:T]/g, "")}.tar.gz`)
    .addHelpText("after", "\nExamples:\n  causeway gather -o /tmp/cw.tar.gz")
    .action(async (o: { lab?: string; out: string; kubeconfig?: string; context?: string }) => {
      const r = o.kubeconfig
        ? await (await import("@causeway/deploy")).gatherKube(o.kubeconfig, o.context ? o.context.split(",") : [undefined], o.out)
        : await (await labModule()).gatherLab(await openLab(o.lab), o.out);
      console.log(` ✓ gathered ${r.files} files into ${r.archive}`);
    });
  program
    .command("benchmark")
    .description("measure pod-to-pod throughput (iperf3) or latency (ping) between two clusters' non-gateway nodes")
    .argument("<what>", "throughput | latency")
    .option("--context <a,b>", "the two clusters (default: the first two)")
    .option("--lab <name>", "which lab, when several run")
    .addHelpText("after", "\nExamples:\n  causeway benchmark throughput\n  causeway benchmark latency --context c1,c3")
    .action(async (what: string, o: { lab?: string; context?: string }) => {
      const { InvalidArgumentError } = await import("commander");
      if (what !== "throughput" && what !== "latency") throw new InvalidArgumentError(`benchmark takes throughput or latency, got "${what}"`);
      const { benchmarkLab, Lab } = await labModule();
      const lab = Lab.open(o.lab);
      const [a, b] = o.context ? o.context.split(",") : lab.state.clusters.map((c) => c.spec.id);
      if (!a || !b) throw new InvalidArgumentError("benchmark needs two clusters: --context a,b");
      lab.cluster(a);
      lab.cluster(b);
      console.log(` ✓ ${await benchmarkLab(lab, a, b, what)}`);
    });
}
