import type { CommandRunner } from "../exec/index.ts";
import { HostStateError } from "../errors.ts";

export type FilterTable = "nat" | "filter" | "mangle";
export type Hook = "PREROUTING" | "INPUT" | "FORWARD" | "OUTPUT" | "POSTROUTING";

export interface Match {
  readonly src?: string;
  readonly dst?: string;
  readonly in?: string;
  /** Any interface but this one (`! -i`). */
  readonly notIn?: string;
  readonly out?: string;
  readonly proto?: "tcp" | "udp";
  readonly dport?: number;
  /** TCP SYN (flags SYN,RST / SYN): the packets whose MSS can be clamped. */
  readonly syn?: boolean;
  /** The first packet of a connection (conntrack state NEW). */
  readonly ctNew?: boolean;
  /** The frame's source MAC (the sending gateway's fixed VTEP MAC on a VXLAN device). */
  readonly macSource?: string;
  /** The connection's mark under `mask`: equal to `mark`, or (`not`) different. */
  readonly connmark?: { readonly mark: number; readonly mask: number; readonly not?: boolean };
  /**
   * ipset matches, evaluated in this order after the cheap native matches: put the set that
   * most packets miss first, so ordinary traffic pays one lookup.
   */
  readonly sets?: readonly SetMatch[];
}

/** Source or destination address in the named ipset. */
export interface SetMatch {
  readonly set: string;
  readonly dir: "src" | "dst";
}

export type Target =
  | { readonly kind: "ACCEPT" }
  | { readonly kind: "CLAMP_MSS_TO_PMTU" }
  | { readonly kind: "CLAMP_MSS"; readonly mss: number }
  /** The connection's mark bits under `mask` set to `mark`. */
  | { readonly kind: "CONNMARK_SET"; readonly mark: number; readonly mask: number }
  /** The packet's mark bits under `mask` set from the connection's. */
  | { readonly kind: "CONNMARK_RESTORE"; readonly mask: number };

/** A mark as iptables-save prints it. */
export const hexMark = (n: number): string => `0x${n.toString(16)}`;

export interface FilterRule {
  readonly match: Match;
  readonly target: Target;
}

/** A chain Causeway owns, hooked from a built-in chain (jump first, or last for INPUT-style appends). */
export interface ChainSpec {
  readonly table: FilterTable;
  readonly chain: string;
  readonly hook: Hook;
  /** Optional match on the jump rule (e.g. -p udp for INPUT). */
  readonly jumpMatch?: Match;
  readonly rules: readonly FilterRule[];
}

/** Observed contents: for each table, the rule lines of every chain, in iptables-save form. */
export type FilterSnapshot = ReadonlyMap<FilterTable, ReadonlyMap<string, readonly string[]>>;

/** Reads and atomically rewrites Causeway's packet-filter chains. */
export interface PacketFilter {
  /** Checks before anything is changed that the host can filter packets at all (a clear error naming what is missing). */
  preflight?(): Promise<void>;
  /** Current rule lines per table and chain (only tables asked for). */
  observe(tables: readonly FilterTable[]): Promise<FilterSnapshot>;
  /** Applies one restore script (from planFilter); atomic per table. */
  restore(script: string): Promise<void>;
}

function renderMatch(m: Match): string {
  const p: string[] = [];
  if (m.src) p.push(`-s ${m.src}`);
  if (m.dst) p.push(`-d ${m.dst}`);
  if (m.in) p.push(`-i ${m.in}`);
  if (m.notIn) p.push(`! -i ${m.notIn}`);
  if (m.out) p.push(`-o ${m.out}`);
  if (m.proto) p.push(`-p ${m.proto}`);
  return [...p, ...renderModules(m)].join(" ");
}

/** A match's module parts, in the order iptables-save prints them back. */
function renderModules(m: Match): string[] {
  const p: string[] = [];
  // Native matches (protocol, port, TCP flags) before ipset lookups: iptables evaluates a rule's
  // matches in order, so e.g. an MSS clamp rule costs non-SYN packets no set lookup at all.
  if (m.proto && (m.dport !== undefined || m.syn)) p.push(`-m ${m.proto}`);
  if (m.dport !== undefined) p.push(`--dport ${m.dport}`);
  if (m.syn) p.push("--tcp-flags SYN,RST SYN");
  if (m.ctNew) p.push("-m conntrack --ctstate NEW");
  if (m.macSource) p.push(`-m mac --mac-source ${m.macSource.toLowerCase()}`);
  if (m.connmark) p.push(`-m connmark${m.connmark.not ? " !" : ""} --mark ${hexMark(m.connmark.mark)}/${hexMark(m.connmark.mask)}`);
  for (const s of m.sets ?? []) p.push(`-m set --match-set ${s.set} ${s.dir}`);
  return p;
}

function renderTarget(t: Target): string {
  switch (t.kind) {
    case "ACCEPT":
      return "-j ACCEPT";
    case "CLAMP_MSS_TO_PMTU":
      return "-j TCPMSS --clamp-mss-to-pmtu";
    case "CLAMP_MSS":
      return `-j TCPMSS --set-mss ${t.mss}`;
    case "CONNMARK_SET":
      return `-j CONNMARK --set-xmark ${hexMark(t.mark)}/${hexMark(t.mask)}`;
    case "CONNMARK_RESTORE":
      return `-j CONNMARK --restore-mark --nfmask ${hexMark(t.mask)} --ctmask ${hexMark(t.mask)}`;
    default:
      return t satisfies never;
  }
}

/** A rule exactly as iptables-save prints it, so observed and desired compare as strings. */
export function renderRule(chain: string, r: FilterRule): string {
  const m = renderMatch(r.match);
  return `-A ${chain}${m ? ` ${m}` : ""} ${renderTarget(r.target)}`;
}

export function renderJump(c: ChainSpec): string {
  const m = c.jumpMatch ? renderMatch(c.jumpMatch) : "";
  return `-A ${c.hook}${m ? ` ${m}` : ""} -j ${c.chain}`;
}

/**
 * Pure: the iptables-restore --noflush script that makes the owned chains equal `desired`,
 * or "" when nothing differs. Chains are rewritten whole (atomic per table); jump rules are
 * added when missing and duplicates removed. Chains in `owned` but not desired are removed.
 */
export function planFilter(
  desired: readonly ChainSpec[],
  owned: readonly { table: FilterTable; chain: string; hook: Hook }[],
  observed: FilterSnapshot,
): string {
  const out: string[] = [];
  const tables = new Set<FilterTable>([...desired.map((c) => c.table), ...owned.map((c) => c.table)]);
  for (const table of tables) {
    const obs = observed.get(table) ?? new Map<string, readonly string[]>();
    const lines = desired.filter((d) => d.table === table).flatMap((c) => planChain(c, obs));
    for (const o of owned.filter((x) => x.table === table && !desired.some((d) => d.table === table && d.chain === x.chain))) {
      if (!obs.has(o.chain)) continue;
      for (const l of obs.get(o.hook) ?? []) if (l.endsWith(`-j ${o.chain}`)) lines.push(l.replace(/^-A /, "-D "));
      lines.push(`-F ${o.chain}`, `-X ${o.chain}`);
    }
    if (lines.length) out.push(`*${table}`, ...lines, "COMMIT");
  }
  return out.length ? `${out.join("\n")}\n` : "";
}

/** The restore lines for one wanted chain: rewritten whole if it differs; its jump present exactly once. */
function planChain(c: ChainSpec, obs: ReadonlyMap<string, readonly string[]>): string[] {
  const lines: string[] = [];
  const want = c.rules.map((r) => renderRule(c.chain, r));
  const have = obs.get(c.chain);
  if (!have || have.length !== want.length || have.some((l, i) => l !== want[i])) lines.push(`:${c.chain} - [0:0]`, ...want);
  const jump = renderJump(c);
  const jumps = (obs.get(c.hook) ?? []).filter((l) => l === jump).length;
  for (let i = 1; i < jumps; i++) lines.push(jump.replace(/^-A /, "-D "));
  // INPUT-style chains go last (after the host's own accepts); the others first.
  if (jumps === 0) lines.push(c.hook === "INPUT" ? jump : jump.replace(/^-A (\S+)/, "-I $1 1"));
  return lines;
}

/** Parses iptables-save output into rule lines per chain. */
export function parseSave(text: string): Map<FilterTable, Map<string, string[]>> {
  const res = new Map<FilterTable, Map<string, string[]>>();
  let cur: Map<string, string[]> | undefined;
  for (const line of text.split("\n")) {
    if (line.startsWith("*")) {
      cur = new Map();
      res.set(line.slice(1) as FilterTable, cur);
    } else if (line.startsWith(":") && cur) {
      cur.set(line.slice(1).split(" ")[0] ?? "", []);
    } else if (line.startsWith("-A ") && cur) {
      const chain = line.split(" ")[1] ?? "";
      const list = cur.get(chain) ?? [];
      list.push(line);
      cur.set(chain, list);
    }
  }
  return res;
}

export type IptablesBackend = "nft" | "legacy";
/** Each backend's programs (named here in full: the image's package list is checked against the programs the sources run). */
const IPTABLES = {
  nft: { save: "iptables-nft-save", restore: "iptables-nft-restore" },
  legacy: { save: "iptables-legacy-save", restore: "iptables-legacy-restore" },
} as const;
/** The chains kubelet makes in the backend it uses (kube's iptables-wrapper decides by them too). */
const KUBE_HINTS = [":KUBE-IPTABLES-HINT", ":KUBE-KUBELET-CANARY"];

/**
 * Which iptables backend this node's rules live in — the one kube-proxy, kubelet and the CNI use,
 * so that Causeway's exemptions sit in the same tables as the masquerades they must precede:
 * the backend holding kubelet's hint chains; else the one with more rules (nft on a tie). A
 * backend whose save fails (the kernel lacks it) is not a candidate; none left is a
 * HostStateError naming both errors and what the kernel needs.
 */
export async function detectIptablesBackend(run: CommandRunner): Promise<IptablesBackend> {
  const saves = await Promise.all(
    (["nft", "legacy"] as const).map(async (b) => {
      try {
        const r = await run.run(IPTABLES[b].save, [], { allowFailure: true });
        return { b, ok: r.exitCode === 0, text: r.stdout, error: r.stderr.trim() || `exit ${r.exitCode}` };
      } catch (err) {
        return { b, ok: false, text: "", error: err instanceof Error ? err.message : String(err) };
      }
    }),
  );
  const usable = saves.filter((x) => x.ok);
  if (!usable.length)
    throw new HostStateError(
      `this node offers no iptables backend (${saves.map((x) => `${IPTABLES[x.b].save}: ${x.error}`).join("; ")}): Causeway's route agent and gateway need the kernel's nf_tables (iptables-nft) or ip_tables (iptables-legacy) — load the module on the node (modprobe nf_tables) or use a kernel that has it`,
    );
  const hinted = usable.find((x) => KUBE_HINTS.some((h) => x.text.includes(h)));
  if (hinted) return hinted.b;
  const rules = (t: string) => t.split("\n").filter((l) => l.startsWith("-A ")).length;
  const [nft, legacy] = [usable.find((x) => x.b === "nft"), usable.find((x) => x.b === "legacy")];
  return legacy && (!nft || rules(legacy.text) > rules(nft.text)) ? "legacy" : "nft";
}

/** The real PacketFilter: iptables-save / iptables-restore --noflush, in the backend the node uses (detected once, or given). */
export class IptablesPacketFilter implements PacketFilter {
  readonly #run: CommandRunner;
  #backend: Promise<IptablesBackend> | undefined;
  constructor(runner: CommandRunner, backend?: IptablesBackend) {
    this.#run = runner;
    if (backend) this.#backend = Promise.resolve(backend);
  }

  /** The backend in use (detected on first use). */
  backend(): Promise<IptablesBackend> {
    this.#backend ??= detectIptablesBackend(this.#run);
    // A failed detection is tried again next time (a module loaded since).
    this.#backend.catch(() => (this.#backend = undefined));
    return this.#backend;
  }

  async preflight(): Promise<void> {
    await this.backend();
  }

  /**
   * One iptables-save for all `tables` (several: every table in one dump). Each run costs about
   * the same whatever it lists — iptables-nft fetches the whole ruleset — and on a busy node it
   * is the slowest command of a pass (0.1–0.15 s seen under 16 flows), so a table each in turn
   * would add that much per table to every route change.
   */
  async observe(tables: readonly FilterTable[]): Promise<FilterSnapshot> {
    if (!tables.length) return new Map();
    const save = IPTABLES[await this.backend()].save;
    const [only] = tables;
    const out = await this.#run.run(save, tables.length === 1 && only ? ["-t", only] : []);
    const saved = parseSave(out.stdout);
    return new Map(tables.map((t) => [t, saved.get(t) ?? new Map<string, string[]>()]));
  }

  async restore(script: string): Promise<void> {
    if (!script) return;
    await this.#run.run(IPTABLES[await this.backend()].restore, ["--noflush", "-w", "5"], { input: script });
  }
}

/** In-memory PacketFilter: applies restore scripts to a snapshot; records scripts. */
export class FakePacketFilter implements PacketFilter {
  readonly tables = new Map<FilterTable, Map<string, string[]>>();
  readonly scripts: string[] = [];

  async observe(tables: readonly FilterTable[]): Promise<FilterSnapshot> {
    const res = new Map<FilterTable, ReadonlyMap<string, readonly string[]>>();
    for (const t of tables) res.set(t, new Map([...(this.tables.get(t) ?? new Map<string, string[]>())].map(([k, v]) => [k, [...v]])));
    return res;
  }

  async restore(script: string): Promise<void> {
    if (!script) return;
    this.scripts.push(script);
    let t: Map<string, string[]> | undefined;
    for (const line of script.split("\n")) {
      if (line.startsWith("*")) {
        const name = line.slice(1) as FilterTable;
        t = this.tables.get(name) ?? new Map();
        this.tables.set(name, t);
      } else if (t && line && line !== "COMMIT") {
        applyLine(t, line);
      }
    }
  }
}

/** One iptables-restore line (chain declaration, -A, -I, -D, -F, -X) applied to a table's chains. */
function applyLine(t: Map<string, string[]>, line: string): void {
  const [verb, chain = "", ...rest] = line.split(" ");
  if (line.startsWith(":")) {
    t.set(line.slice(1).split(" ")[0] ?? "", []);
    return;
  }
  const list = t.get(chain) ?? [];
  switch (verb) {
    case "-A":
      t.set(chain, [...list, line]);
      break;
    case "-I":
      t.set(chain, [`-A ${chain} ${rest.slice(1).join(" ")}`, ...list]);
      break;
    case "-D": {
      const i = list.indexOf(`-A ${chain} ${rest.join(" ")}`);
      if (i >= 0) list.splice(i, 1);
      break;
    }
    case "-F":
      t.set(chain, []);
      break;
    case "-X":
      t.delete(chain);
      break;
    default:
      throw new HostStateError(`fake packet filter: unsupported line "${line}"`);
  }
}
