/**
 * How many flows a gateway carries between its cluster and the remote clusters: the kernel's
 * connection-tracking entries with one end in a remote cluster's CIDRs (either direction), read
 * with one `conntrack -L` per count. Closing TCP connections (TIME_WAIT and the other states after
 * ESTABLISHED) are not counted; UDP and other protocols count until their entry expires.
 */
import { cidrContains } from "@causeway/api";
import type { CommandRunner } from "../exec/index.ts";

/** Counts the flows with an end in `cidrs`. */
export interface FlowCounter {
  count(cidrs: readonly string[]): Promise<number>;
}

/** TCP states of a connection still carrying data (or about to): the others are closing. */
const OPEN_TCP = new Set(["SYN_SENT", "SYN_RECV", "ESTABLISHED"]);

/** One conntrack entry as counting needs it: protocol, TCP state, and the original direction's addresses. */
export interface FlowEntry {
  readonly proto: string;
  readonly state?: string;
  readonly src: string;
  readonly dst: string;
}

/** Pure: the entries of `conntrack -L` output (its default format), one per line; lines it cannot read are skipped. */
export function parseConntrack(text: string): FlowEntry[] {
  const out: FlowEntry[] = [];
  for (const line of text.split("\n")) {
    const words = line.trim().split(/\s+/);
    const proto = words[0];
    const src = words.find((w) => w.startsWith("src="))?.slice(4);
    const dst = words.find((w) => w.startsWith("dst="))?.slice(4);
    if (!proto || !src || !dst) continue;
    const state = proto === "tcp" ? words[3] : undefined;
    out.push({ proto, ...(state ? { state } : {}), src, dst });
  }
  return out;
}

/** Pure: the open flows among `entries` with an end in `cidrs`. */
export function countFlows(entries: readonly FlowEntry[], cidrs: readonly string[]): number {
  const remote = (ip: string) => cidrs.some((c) => cidrContains(c, ip));
  return entries.filter((e) => (e.proto !== "tcp" || OPEN_TCP.has(e.state ?? "")) && (remote(e.src) || remote(e.dst))).length;
}

/** The kernel's table, through conntrack-tools. */
export class ConntrackFlows implements FlowCounter {
  readonly #run: CommandRunner;
  constructor(run: CommandRunner) {
    this.#run = run;
  }

  async count(cidrs: readonly string[]): Promise<number> {
    if (!cidrs.length) return 0;
    const r = await this.#run.run("conntrack", ["-L"], { timeoutMs: 5000 });
    return countFlows(parseConntrack(r.stdout), cidrs);
  }
}

/** A table of entries the test adds. */
export class FakeFlows implements FlowCounter {
  readonly entries: FlowEntry[] = [];

  add(e: FlowEntry): void {
    this.entries.push(e);
  }

  async count(cidrs: readonly string[]): Promise<number> {
    return countFlows(this.entries, cidrs);
  }
}
