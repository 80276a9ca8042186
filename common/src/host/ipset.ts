import type { CommandRunner } from "../exec/index.ts";

/** hash:net address sets (the members behind constant packet-filter rules). */
export interface IpSets {
  /** Members of each named set that exists (absent sets are not in the map). */
  observe(names: readonly string[]): Promise<Map<string, Set<string>>>;
  /** Makes each set hold exactly the given members (creating it if needed); one process. */
  apply(desired: ReadonlyMap<string, readonly string[]>, observed: Map<string, Set<string>>): Promise<void>;
  /** Destroys the named sets if they exist (after the rules that use them are gone). */
  destroy(names: readonly string[]): Promise<void>;
}

/** Pure: the `ipset restore -exist` script, or "" when nothing differs. */
export function planSets(desired: ReadonlyMap<string, readonly string[]>, observed: Map<string, Set<string>>): string {
  const lines: string[] = [];
  for (const [name, members] of desired) {
    const have = observed.get(name);
    if (!have) lines.push(`create ${name} hash:net family inet`);
    const want = new Set(members);
    for (const m of want) if (!have?.has(m)) lines.push(`add ${name} ${m}`);
    for (const m of have ?? []) if (!want.has(m)) lines.push(`del ${name} ${m}`);
  }
  return lines.length ? `${lines.join("\n")}\n` : "";
}

export class IpsetCommand implements IpSets {
  readonly #run: CommandRunner;
  constructor(runner: CommandRunner) {
    this.#run = runner;
  }

  async observe(names: readonly string[]): Promise<Map<string, Set<string>>> {
    const res = new Map<string, Set<string>>();
    const out = await this.#run.run("ipset", ["save"]);
    for (const line of out.stdout.split("\n")) {
      const [verb, name = "", member = ""] = line.split(" ");
      if (!names.includes(name)) continue;
      if (verb === "create") res.set(name, res.get(name) ?? new Set());
      if (verb === "add") res.get(name)?.add(member.includes("/") ? member : `${member}/32`);
    }
    return res;
  }

  async apply(desired: ReadonlyMap<string, readonly string[]>, observed: Map<string, Set<string>>): Promise<void> {
    const script = planSets(desired, observed);
    if (script) await this.#run.run("ipset", ["restore", "-exist"], { input: script });
  }

  async destroy(names: readonly string[]): Promise<void> {
    for (const n of names) await this.#run.run("ipset", ["destroy", n], { allowFailure: true });
  }
}

export class FakeIpSets implements IpSets {
  readonly sets = new Map<string, Set<string>>();
  async observe(names: readonly string[]): Promise<Map<string, Set<string>>> {
    return new Map([...this.sets].filter(([n]) => names.includes(n)).map(([n, s]) => [n, new Set(s)]));
  }
  async apply(desired: ReadonlyMap<string, readonly string[]>): Promise<void> {
    for (const [n, m] of desired) this.sets.set(n, new Set(m));
  }
  async destroy(names: readonly string[]): Promise<void> {
    for (const n of names) this.sets.delete(n);
  }
}
