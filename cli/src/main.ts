#!/usr/bin/env node
/** causeway: the command line. Commands live in their folders; this file only wires them. */
import { CausewayError } from "@causeway/api";
import { Command, InvalidArgumentError, Option } from "commander";
import { stringify } from "yaml";
import { connectBroker } from "./broker.ts";
import { labCommands } from "./lab/commands.ts";
import { buildViews, renderText, type Section, SECTIONS, toData } from "./show/index.ts";

const program = new Command("causeway").description("Causeway: one network for many clusters").showSuggestionAfterError(true);

program
  .command("show")
  .description("show the clusterset as the broker sees it")
  .argument("[what]", `all | ${SECTIONS.join(" | ")}`, "all")
  .option("--broker <address>", "broker address (host:port or unix:///path); default: the running lab's")
  .option("--token-file <file>", "credential file for --broker")
  .option("--lab <name>", "which lab, when several run")
  .addOption(new Option("-o, --output <format>", "output format").choices(["table", "json", "yaml"]).default("table"))
  .action(async (what: string, o: { broker?: string; tokenFile?: string; lab?: string; output: string }) => {
    const sections: readonly Section[] = what === "all" ? SECTIONS : (SECTIONS as readonly string[]).includes(what) ? [what as Section] : [];
    if (!sections.length) throw new InvalidArgumentError(`unknown section "${what}"; use all, ${SECTIONS.join(", ")}`);
    const conn = connectBroker(o);
    try {
      const views = buildViews((await conn.list("")).records);
      if (o.output === "json") console.log(JSON.stringify(toData(views, sections), null, 2));
      else if (o.output === "yaml") console.log(stringify(toData(views, sections)).trimEnd());
      else console.log(renderText(views, sections));
    } finally {
      conn.close();
    }
  });

labCommands(program);

try {
  await program.parseAsync();
} catch (err) {
  const e = err instanceof Error ? err : new Error(String(err));
  console.error(`✗ ${e.message}`);
  process.exit(e instanceof CausewayError || e instanceof InvalidArgumentError ? 2 : 1);
}
