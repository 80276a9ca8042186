import { type Command, InvalidArgumentError, Option } from "commander";
import type { ClusterView } from "./model.ts";
import { type Section, SECTIONS } from "./render.ts";

async function brokerViews(o: { broker?: string; tokenFile?: string; lab?: string }): Promise<ClusterView[]> {
  const { connectBroker } = await import("../broker.ts");
  const { buildViews } = await import("./model.ts");
  const conn = connectBroker(o);
  try {
    return buildViews((await conn.list("")).records);
  } finally {
    conn.close();
  }
}

async function kubeViews(kubeconfig: string | undefined, contexts: string | undefined): Promise<ClusterView[]> {
  const { kube } = await import("@causeway/common");
  const { viewFromKube } = await import("./kube.ts");
  const out: ClusterView[] = [];
  for (const context of contexts ? contexts.split(",") : [undefined]) {
    const client = await kube.KubeClient.connect({ kubeconfig, context, timeoutMs: 5000 });
    try {
      out.push(await viewFromKube(client));
    } finally {
      client.close();
    }
  }
  return out;
}

/** `causeway show`: subctl's show, from the broker or from each cluster's API. */
export function showCommand(program: Command): void {
  program
    .command("show")
    .description("show the clusterset: as each cluster's API sees it (--kubeconfig/--context), or as the broker sees it")
    .argument("[what]", `all | ${SECTIONS.join(" | ")}`, "all")
    .option("--broker <address>", "broker address (host:port or unix:///path); default: the running lab's")
    .option("--token-file <file>", "credential file for --broker")
    .option("--lab <name>", "which lab, when several run")
    .option("--kubeconfig <file>", "Kubernetes mode: read the clusters' own APIs")
    .option("--context <names>", "kubeconfig context(s), comma-separated (default: the current one)")
    .addOption(new Option("-o, --output <format>", "output format").choices(["table", "json", "yaml"]).default("table"))
    .addHelpText("after", "\nExamples:\n  causeway show all\n  causeway show connections --kubeconfig k.yaml --context east -o yaml")
    .action(async (what: string, o: { broker?: string; tokenFile?: string; lab?: string; kubeconfig?: string; context?: string; output: string }) => {
      const sections: readonly Section[] = what === "all" ? SECTIONS : (SECTIONS as readonly string[]).includes(what) ? [what as Section] : [];
      if (!sections.length) throw new InvalidArgumentError(`unknown section "${what}"; use all, ${SECTIONS.join(", ")}`);
      const views = o.kubeconfig || o.context ? await kubeViews(o.kubeconfig, o.context) : await brokerViews(o);
      const { renderText, toData } = await import("./render.ts");
      if (o.output === "json") console.log(JSON.stringify(toData(views, sections), null, 2));
      else if (o.output === "yaml") console.log((await import("yaml")).stringify(toData(views, sections)).trimEnd());
      else console.log(renderText(views, sections));
    });
}
