import type { Command } from "commander";

/** Pure: each command path ("lab service add") with its flags, from the program's tree. */
export function commandTree(program: Command): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const walk = (c: Command, path: string[]) => {
    const key = path.join(" ");
    out.set(
      key,
      [...c.commands.map((s) => s.name()), ...c.options.flatMap((o) => [o.long, o.short].filter((x): x is string => Boolean(x))), "--help"].filter(
        (x, i, a) => a.indexOf(x) === i,
      ),
    );
    for (const s of c.commands) walk(s, [...path, s.name()]);
  };
  walk(program, []);
  return out;
}

/** Pure: a bash completion script: the words after the longest known command path typed so far. */
export function bashCompletion(tree: Map<string, string[]>): string {
  const cases = [...tree.entries()].map(([path, words]) => `    "${path}") words="${words.join(" ")}" ;;`).join("\n");
  return `# causeway bash completion: source <(causeway completion bash)
_causeway() {
  local cur path="" i w words=""
  cur="\${COMP_WORDS[COMP_CWORD]}"
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    [[ $w == -* ]] && continue
    case "\${path:+$path }$w" in
${[...tree.keys()]
  .filter(Boolean)
  .map((p) => `      "${p}") path="${p}" ;;`)
  .join("\n")}
    esac
  done
  case "$path" in
${cases}
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -F _causeway causeway
`;
}

/** `causeway completion bash`. */
export function completionCommands(program: Command): void {
  program
    .command("completion")
    .description("print a shell completion script")
    .argument("<shell>", "bash")
    .addHelpText("after", "\nExamples:\n  source <(causeway completion bash)")
    .action((shell: string) => {
      if (shell !== "bash") throw new Error(`completion for "${shell}" is not available; use bash`);
      console.log(bashCompletion(commandTree(program)).trimEnd());
    });
}
