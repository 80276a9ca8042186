#!/usr/bin/env node
/** causeway: the command line. Commands live in their folders; this file only wires them. */
import { Command, CommanderError, InvalidArgumentError } from "commander";
import { showCommand } from "./show/command.ts";
import { dnsCommands } from "./dns/commands.ts";
import { exportCommands } from "./export/commands.ts";
import { kubeCommands } from "./kube/commands.ts";
import { labCommands } from "./lab/commands.ts";
import { verifyCommands } from "./verify/commands.ts";
import { diagnoseCommands } from "./diagnose/commands.ts";
import { completionCommands } from "./completion/commands.ts";
import { gatherCommands } from "./gather/commands.ts";
import { credentialCommands } from "./credentials/commands.ts";
import { dashboardCommand } from "./dashboard/command.ts";

const program = new Command("causeway").description("Causeway: one network for many clusters").showSuggestionAfterError(true);
/** Every long flag of every command (for suggestions commander's edit distance misses). */
const allFlags = (c: Command): string[] => [...c.options.flatMap((o) => (o.long ? [o.long] : [])), ...c.commands.flatMap(allFlags)];
// A flag that grew a suffix (--health-check-max-packet-loss → …-count) is too far for commander's
// edit distance; suggest the flag it is the start of. Inherited by every command added below.
program.configureOutput({
  outputError: (text, write) => {
    const flag = /unknown option '(--[^']+)'\n$/.exec(text)?.[1];
    const longer = flag ? allFlags(program).find((f) => f.startsWith(`${flag}-`)) : undefined;
    write(longer ? `${text}(Did you mean ${longer}?)\n` : text);
  },
});
// Usage errors (unknown flags, bad values) exit 2 like every other refused input; help exits 0.
program.exitOverride();
/** Whether a command's action runs: errors from then on are ours to print (commander printed its own parse errors). */
let acting = false;
program.hook("preAction", () => {
  acting = true;
});

showCommand(program);
dashboardCommand(program);

program
  .command("version")
  .description("print the causeway CLI's version and the Node.js it runs on")
  .action(async () => {
    // Loaded here: --help and the other commands' start do not load the api workspace for it.
    const { CAUSEWAY_VERSION } = await import("@causeway/api");
    console.log(`causeway ${CAUSEWAY_VERSION} (node ${process.versions.node}, ${process.platform}/${process.arch})`);
  });

kubeCommands(program);
labCommands(program);
exportCommands(program);
dnsCommands(program);
verifyCommands(program);
diagnoseCommands(program);
gatherCommands(program);
credentialCommands(program);
completionCommands(program);

try {
  await program.parseAsync();
} catch (err) {
  if (err instanceof CommanderError && !acting) process.exit(err.exitCode === 0 ? 0 : 2); // commander printed the message
  const e = err instanceof Error ? err : new Error(String(err));
  console.error(`✗ ${e.message}`);
  // Every product error says how it ends a command (CausewayError.exitCode: 2 refused input, 1 a failure); a bad flag value is usage (2); anything else (a bug) 1.
  const { CausewayError } = await import("@causeway/api");
  process.exit(e instanceof CausewayError ? e.exitCode : e instanceof InvalidArgumentError ? 2 : 1);
}
