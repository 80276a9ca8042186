import { errorMessage, parseValue, type WireRecord } from "@causeway/api";
import type { Logger } from "@causeway/common";

/** How a gracefully stopping gateway hands over: how long it waits for a successor, how often it looks, and how long the successor's Endpoint gets to reach every cluster. */
export const HANDOVER = { waitMs: 2000, pollMs: 100, settleMs: 1000 } as const;

export interface HandoverOptions {
  /** The broker's records of a kind (a BrokerConnection). */
  readonly broker: { list(kind: "endpoint"): Promise<{ records: WireRecord[] }> };
  readonly clusterId: string;
  /** This gateway's node (its Endpoint's hostname). */
  readonly node: string;
  readonly log: Logger;
  readonly timings?: { readonly waitMs: number; readonly pollMs: number; readonly settleMs: number };
}

/** The node of a cluster's newest Endpoint at the broker ("" when none). */
async function newestHost(o: HandoverOptions): Promise<string> {
  const { records } = await o.broker.list("endpoint");
  let best: WireRecord | undefined;
  for (const r of records) if (r.clusterId === o.clusterId && (!best || Number(r.createRevision) > Number(best.createRevision))) best = r;
  return best ? parseValue("endpoint", best.valueJson).hostname : "";
}

/**
 * Make-before-break for a graceful stop (the lease already released, the engine stopped): the
 * cables stay until a successor's Endpoint is the cluster's newest at the broker and has had
 * `settleMs` to reach the other clusters, so traffic moves instead of stopping. Bounded: with
 * no successor within `waitMs` (none left, broker unreachable) it returns all the same.
 * Returns the successor's node ("" when none was seen).
 */
export async function awaitSuccessor(o: HandoverOptions): Promise<string> {
  const t = o.timings ?? HANDOVER;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const end = performance.now() + t.waitMs;
  for (let i = 0; performance.now() < end && i < t.waitMs / t.pollMs + 1; i++) {
    const host = await newestHost(o).catch((err: unknown) => {
      o.log.debug({ err: errorMessage(err) }, "hand-over: broker not answering");
      return "";
    });
    if (host && host !== o.node) {
      await sleep(t.settleMs);
      o.log.info({ successor: host }, "handed over to the successor");
      return host;
    }
    await sleep(t.pollMs);
  }
  o.log.warn({ waitedMs: t.waitMs }, "no successor published its endpoint in time; removing the cables anyway");
  return "";
}
