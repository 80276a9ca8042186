/**
 * An nftables table of Causeway's (the clusterset table on every node, the globalnet table on the
 * active gateway) kept up to date by small transactions. The first apply — and any change of the
 * table's declarations or base chains, or a table that is not as this process left it — replaces
 * the whole table in one `nft -f`; after that, one transaction holds only what changed: map and
 * set elements and the regular chains (one per service port). A thousand services and one more
 * cost one element and one chain, not a thousand chains rebuilt (measured: a full table of 1,000
 * services takes nft 0.3–0.4 s to load, which starved the processes on a loaded node).
 *
 * The digest of the spec the table holds is in the name of an empty chain, `state-<digest>`,
 * renamed in the same transaction as the change: a table's comment cannot be changed in place, and
 * reading a rule's comment makes nft load the table's maps (~0.15 s at 1,000 services on a busy
 * node) where listing the chains' names does not (~0.01 s).
 */
import type { CommandRunner } from "../exec/index.ts";

export interface NftCollection {
  readonly kind: "set" | "map";
  /** Its declaration lines (type, flags). */
  readonly spec: readonly string[];
  /** Set members, or map entries `key : value`. */
  readonly elements: readonly string[];
}

/** What a table holds, in parts the delta can compare. */
export interface NftTableModel {
  readonly digest: string;
  readonly collections: ReadonlyMap<string, NftCollection>;
  /** Chains without a hook, by name: an optional first `comment "…"` line, then their rules. */
  readonly chains: ReadonlyMap<string, readonly string[]>;
  /** The base chains, as lines inside the table: any change replaces the table. */
  readonly base: readonly string[];
}

const STATE_CHAIN = "state-";

/** Pure: the lines that make sure `table ip <name>` exists and delete it: what an `nft -f` script that (re)creates it in one transaction starts with. */
export function tableReset(name: string): string[] {
  return [`table ip ${name}`, `delete table ip ${name}`];
}

/** Pure: a set or map declaration's lines (its elements only when there are some: nft refuses an empty list). */
export function nftCollection(kind: "set" | "map", name: string, spec: readonly string[], elements: readonly string[]): string[] {
  return [`  ${kind} ${name} {`, ...spec.map((l) => `    ${l}`), ...(elements.length ? [`    elements = { ${elements.join(", ")} }`] : []), "  }"];
}

/** Pure: the `nft -f` script that (re)creates the table from the model in one transaction, or deletes it (no model). */
export function renderTable(table: string, model: NftTableModel | undefined): string {
  const head = tableReset(table);
  if (!model) return `${head.join("\n")}\n`;
  return [
    ...head,
    `table ip ${table} {`,
    ...[...model.collections].flatMap(([name, c]) => nftCollection(c.kind, name, c.spec, c.elements)),
    ...[...model.chains].flatMap(([name, lines]) => [`  chain ${name} {`, ...lines.map((l) => `    ${l}`), "  }"]),
    ...model.base,
    `  chain ${STATE_CHAIN}${model.digest} {`,
    "  }",
    "}",
    "",
  ].join("\n");
}

const keyOf = (element: string) => element.split(" : ")[0] ?? element;

/**
 * Pure: the `nft -f` script that turns the table `prev` describes into `next`'s in one
 * transaction — elements and regular chains that changed, and the digest — or undefined when
 * their declarations or base chains differ (the table is then replaced). Empty script: no change.
 */
export function renderTableDelta(table: string, prev: NftTableModel, next: NftTableModel): string | undefined {
  if (!sameDeclarations(prev, next)) return undefined;
  if (prev.digest === next.digest) return "";
  const t = `ip ${table}`;
  const rules = (name: string, body: readonly string[]) => body.filter((l) => !l.startsWith("comment ")).map((r) => `add rule ${t} ${name} ${r}`);
  const added = [...next.chains].filter(([name]) => !prev.chains.has(name));
  const changed = [...next.chains].filter(([name, body]) => prev.chains.has(name) && prev.chains.get(name)?.join("\n") !== body.join("\n"));
  // A chain's comment cannot change in place (flush keeps it): such a rare change loads the table whole.
  const comment = (body: readonly string[] | undefined) => body?.find((l) => l.startsWith("comment ")) ?? "";
  if (changed.some(([name, body]) => comment(prev.chains.get(name)) !== comment(body))) return undefined;
  const lines = [
    // New chains before the elements that jump to them ...
    ...added.flatMap(([name, body]) => {
      const comment = body.find((l) => l.startsWith("comment "));
      return [`add chain ${t} ${name}${comment ? ` { ${comment}; }` : ""}`, ...rules(name, body)];
    }),
    ...changed.flatMap(([name, body]) => [`flush chain ${t} ${name}`, ...rules(name, body)]),
    ...[...next.collections].flatMap(([name, c]) => elementChanges(t, name, prev.collections.get(name)?.elements ?? [], c.elements)),
    // ... and chains nothing jumps to any more after them.
    ...[...prev.chains.keys()].filter((name) => !next.chains.has(name)).map((name) => `delete chain ${t} ${name}`),
    `rename chain ${t} ${STATE_CHAIN}${prev.digest} ${STATE_CHAIN}${next.digest}`,
  ];
  return `${lines.join("\n")}\n`;
}

/** Pure: whether two models declare the same sets, maps and base chains (elements and regular chains aside). */
function sameDeclarations(prev: NftTableModel, next: NftTableModel): boolean {
  if (prev.base.join("\n") !== next.base.join("\n") || prev.collections.size !== next.collections.size) return false;
  return [...next.collections].every(([name, c]) => {
    const p = prev.collections.get(name);
    return p !== undefined && p.kind === c.kind && p.spec.join("\n") === c.spec.join("\n");
  });
}

/** Pure: the lines that turn a set's or map's elements `before` into `after` (a changed map value: deleted by its key, added again). */
function elementChanges(t: string, name: string, before: readonly string[], after: readonly string[]): string[] {
  const was = new Set(before);
  const now = new Set(after);
  const gone = before.filter((e) => !now.has(e));
  const fresh = after.filter((e) => !was.has(e));
  return [
    ...(gone.length ? [`delete element ${t} ${name} { ${gone.map(keyOf).join(", ")} }`] : []),
    ...(fresh.length ? [`add element ${t} ${name} { ${fresh.join(", ")} }`] : []),
  ];
}

/** Pure: the digest in `nft list chains ip` output for `table` ("" when the table has no state chain, undefined when there is no such table). */
export function parseStateDigest(text: string, table: string): string | undefined {
  let inTable = false;
  let found: string | undefined;
  for (const line of text.split("\n")) {
    const t = /^table ip (\S+) \{/.exec(line);
    if (t) {
      inTable = t[1] === table;
      if (inTable) found = "";
      continue;
    }
    const c = inTable ? new RegExp(`^\\s*chain ${STATE_CHAIN}([0-9a-f]+) \\{`).exec(line) : null;
    if (c) found = c[1];
  }
  return found;
}

/** What observe() gave (digest undefined: no table), handed to apply() in the same pass. */
export interface Observed {
  readonly digest: string | undefined;
}

/** One nftables table, replaced or updated in place (see the module's comment). */
export class NftTable {
  readonly #run: CommandRunner;
  readonly #name: string;
  /** What this process last wrote (the base of the next delta). */
  #applied: NftTableModel | undefined;

  constructor(runner: CommandRunner, name: string) {
    this.#run = runner;
    this.#name = name;
  }

  /** The digest of the spec the table holds; "" when the table is there without one (made otherwise); undefined when there is none. */
  async observe(): Promise<string | undefined> {
    const res = await this.#run.run("nft", ["list", "chains", "ip"], { allowFailure: true });
    return res.exitCode === 0 ? parseStateDigest(res.stdout, this.#name) : undefined;
  }

  /**
   * Makes the table the model's (none: deletes it); says whether it was there before and how it
   * changed. `seen`: what observe() gave just before, in the same pass (saves listing again).
   */
  async apply(model: NftTableModel | undefined, seen?: Observed): Promise<{ existed: boolean; how: "replaced" | "updated" | "deleted" | "unchanged" }> {
    const observed = seen ? seen.digest : await this.observe();
    const existed = observed !== undefined;
    if (!model) {
      if (existed) await this.#run.run("nft", ["-f", "-"], { input: renderTable(this.#name, undefined) });
      this.#applied = undefined;
      return { existed, how: "deleted" };
    }
    const prev = this.#applied;
    const delta = prev && observed === prev.digest ? renderTableDelta(this.#name, prev, model) : undefined;
    if (delta === "") return { existed, how: "unchanged" };
    this.#applied = undefined;
    if (delta !== undefined) {
      // Refused (the table is not quite as this process left it): it is replaced whole instead.
      const res = await this.#run.run("nft", ["-f", "-"], { input: delta, allowFailure: true });
      if (res.exitCode === 0) {
        this.#applied = model;
        return { existed, how: "updated" };
      }
    }
    await this.#run.run("nft", ["-f", "-"], { input: renderTable(this.#name, model) });
    this.#applied = model;
    return { existed, how: "replaced" };
  }
}
