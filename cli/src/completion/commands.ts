import { type Command, InvalidArgumentError } from "commander";

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

/**
 * Pure: a zsh completion function (native: words/CURRENT and compadd, no bashcompinit), the
 * same walk as bash's. ($path is zsh's PATH array, hence $cmd.)
 */
export function zshCompletion(tree: Map<string, string[]>): string {
  const cases = [...tree.entries()].map(([path, words]) => `    "${path}") cands=(${words.join(" ")}) ;;`).join("\n");
  return `#compdef causeway
# causeway zsh completion: source <(causeway completion zsh)  (or save as _causeway in $fpath)
_causeway() {
  local cmd="" w i
  local -a cands
  for ((i = 2; i < CURRENT; i++)); do
    w="\${words[i]}"
    [[ $w == -* ]] && continue
    case "\${cmd:+$cmd }$w" in
${[...tree.keys()]
  .filter(Boolean)
  .map((p) => `      "${p}") cmd="${p}" ;;`)
  .join("\n")}
    esac
  done
  case "$cmd" in
${cases}
  esac
  compadd -- "\${cands[@]}"
}
if (( $+functions[compdef] )); then compdef _causeway causeway; fi
`;
}

const SHELLS: Record<string, (tree: Map<string, string[]>) => string> = { bash: bashCompletion, zsh: zshCompletion };

/** `causeway completion bash|zsh`. */
export function completionCommands(program: Command): void {
  program
    .command("completion")
    .description("print a shell completion script")
    .argument("<shell>", "bash | zsh")
    .addHelpText("after", "\nExamples:\n  source <(causeway completion bash)\n  source <(causeway completion zsh)   # after compinit")
    .action((shell: string) => {
      const make = SHELLS[shell];
      if (!make) throw new InvalidArgumentError(`completion for "${shell}" is not available; use ${Object.keys(SHELLS).join(" or ")}`);
      console.log(make(commandTree(program)).trimEnd());
    });
}
