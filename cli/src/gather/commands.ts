import type { Command } from "commander";
import { labModule, openLab } from "../labs.ts";

/** `causeway gather` and `causeway benchmark` (labs, or real clusters with --kubeconfig). */
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
    .option("--context <a,b>", "the two clusters: lab cluster ids (default: the first two), or with --kubeconfig the two contexts")
    .option("--lab <name>", "which lab, when several run")
    .option(
      "--kubeconfig <files>",
      "real clusters: one kubeconfig, or one per cluster (a.yaml,b.yaml); test pods of Causeway's image in namespace causeway-benchmark (removed after)",
    )
    .addHelpText(
      "after",
      "\nExamples:\n  causeway benchmark throughput\n  causeway benchmark latency --context c1,c3\n  causeway benchmark throughput --kubeconfig east.yaml,west.yaml",
    )
    .action(async (what: string, o: { lab?: string; context?: string; kubeconfig?: string }) => {
      const { InvalidArgumentError } = await import("commander");
      if (what !== "throughput" && what !== "latency") throw new InvalidArgumentError(`benchmark takes throughput or latency, got "${what}"`);
      if (o.kubeconfig) {
        const { connectPair } = await import("../kube/pair.ts");
        const { benchmarkKube } = await import("../kube/benchmark.ts");
        const [a, b] = await connectPair(o);
        try {
          console.log(`Benchmarking ${a.context} → ${b.context} with test pods in namespace causeway-benchmark (removed after)`);
          console.log(` ✓ ${await benchmarkKube(a, b, what)}`);
        } finally {
          a.close();
          b.close();
        }
        return;
      }
      const { benchmarkLab, Lab } = await labModule();
      const lab = Lab.open(o.lab);
      const [a, b] = o.context ? o.context.split(",") : lab.state.clusters.map((c) => c.spec.id);
      if (!a || !b) throw new InvalidArgumentError("benchmark needs two clusters: --context a,b");
      lab.cluster(a);
      lab.cluster(b);
      console.log(` ✓ ${await benchmarkLab(lab, a, b, what)}`);
    });
}
