#!/usr/bin/env node
/** causeway: the command line. Commands live in their folders; this file only wires them. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CausewayError } from "@causeway/api";
import { kube } from "@causeway/common";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { stringify } from "yaml";
import { connectBroker } from "./broker.ts";
import { dnsCommands } from "./dns/commands.ts";
import { exportCommands } from "./export/commands.ts";
import { kubeCommands } from "./kube/commands.ts";
import { labCommands } from "./lab/commands.ts";
import { buildViews, type ClusterView, renderText, type Section, SECTIONS, toData } from "./show/index.ts";
import { viewFromKube } from "./show/kube.ts";
import { verifyCommands } from "./verify/commands.ts";
import { diagnoseCommands } from "./diagnose/commands.ts";

const program = new Command("causeway").description("Causeway: one network for many clusters").showSuggestionAfterError(true);
// Usage errors (unknown flags, bad values) exit 2 like every other refused input; help exits 0.
program.exitOverride();

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
  .action(async (what: string, o: { broker?: string; tokenFile?: string; lab?: string; kubeconfig?: string; context?: string; output: string }) => {
    const sections: readonly Section[] = what === "all" ? SECTIONS : (SECTIONS as readonly string[]).includes(what) ? [what as Section] : [];
    if (!sections.length) throw new InvalidArgumentError(`unknown section "${what}"; use all, ${SECTIONS.join(", ")}`);
    const views = o.kubeconfig || o.context ? await kubeViews(o.kubeconfig, o.context) : await brokerViews(o);
    if (o.output === "json") console.log(JSON.stringify(toData(views, sections), null, 2));
    else if (o.output === "yaml") console.log(stringify(toData(views, sections)).trimEnd());
    else console.log(renderText(views, sections));
  });

async function brokerViews(o: { broker?: string; tokenFile?: string; lab?: string }): Promise<ClusterView[]> {
  const conn = connectBroker(o);
  try {
    return buildViews((await conn.list("")).records);
  } finally {
    conn.close();
  }
}

async function kubeViews(kubeconfig: string | undefined, contexts: string | undefined): Promise<ClusterView[]> {
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

program
  .command("version")
  .description("print the causeway CLI's version and the Node.js it runs on")
  .action(() => {
    const pkg = JSON.parse(readFileSync(join(import.meta.dirname, "../package.json"), "utf8")) as { version: string };
    console.log(`causeway ${pkg.version} (node ${process.versions.node}, ${process.platform}/${process.arch})`);
  });

kubeCommands(program);
labCommands(program);
exportCommands(program);
dnsCommands(program);
verifyCommands(program);
diagnoseCommands(program);

try {
  await program.parseAsync();
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2); // commander printed the message
  const e = err instanceof Error ? err : new Error(String(err));
  console.error(`✗ ${e.message}`);
  process.exit(e instanceof CausewayError || e instanceof InvalidArgumentError || e instanceof kube.KubeError || e instanceof kube.KubeConfigError ? 2 : 1);
}
