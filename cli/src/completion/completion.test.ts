import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import { Command } from "commander";
import { bashCompletion, commandTree, zshCompletion } from "./commands.ts";

describe("shell completion", () => {
  const program = new Command("causeway");
  const lab = program.command("lab");
  lab.command("up").option("--clusters <n>");
  lab.command("service").command("add").option("--pods <n>").option("--port <p>");
  program.command("join").option("--natt [bool]");

  it("knows every command path and its flags", () => {
    const tree = commandTree(program);
    assert.deepEqual(tree.get(""), ["lab", "join", "--help"]);
    assert.deepEqual(tree.get("lab service add"), ["--pods", "--port", "--help"]);
  });

  it("the bash script completes commands, subcommands and flags", () => {
    const script = bashCompletion(commandTree(program));
    const complete = (words: string[]) =>
      spawnSync("bash", ["-c", `${script}\nCOMP_WORDS=(${words.join(" ")}); COMP_CWORD=${words.length - 1}; _causeway; echo "\${COMPREPLY[@]}"`], {
        encoding: "utf8",
      }).stdout.trim();
    assert.equal(complete(["causeway", "l"]), "lab");
    assert.equal(complete(["causeway", "lab", "service", "add", "c1/x", "--p"]), "--pods --port");
    assert.equal(complete(["causeway", "join", "--n"]), "--natt");
  });

  it("the zsh function completes the same (compadd stubbed to print the candidates matching the typed prefix)", () => {
    const script = zshCompletion(commandTree(program));
    const complete = (words: string[]) =>
      spawnSync(
        "zsh",
        [
          "-fc",
          `${script}\ncompadd() { shift; local c; local -a out; for c in "$@"; do [[ $c == \${PREFIX}* ]] && out+=($c); done; print -r -- "\${out[*]}"; }\nwords=(${words.join(" ")}); CURRENT=${words.length}; PREFIX=${JSON.stringify(words.at(-1))}; _causeway`,
        ],
        { encoding: "utf8" },
      ).stdout.trim();
    assert.equal(complete(["causeway", "l"]), "lab");
    assert.equal(complete(["causeway", "lab", "service", "add", "c1/x", "--p"]), "--pods --port");
    assert.equal(complete(["causeway", "join", "--n"]), "--natt");
  });
});
