/** What every pinger does, the fake as the real one against the kernel (pinger.test.ts, pinger.system.test.ts). */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { PingEvent, PingerFactory } from "./pinger.ts";

export interface PingWorld {
  readonly pinger: PingerFactory;
  /** Answers probes. */
  readonly reachable: string;
  /** Has no route. */
  readonly unroutable: string;
  /** An address of ours probes may leave from: not the one the kernel would pick towards `reachable`. */
  readonly source: string;
  /** How many probes `reachable` has received from `from` so far. */
  probesFrom(from: string): Promise<number>;
  /** Makes `reachable` drop probes (true) or answer again (false). */
  drop(on: boolean): Promise<void>;
  close(): Promise<void>;
}

const INTERVAL = 100;

/** Collects a pinger's events over a time. */
async function collect(p: PingerFactory, target: string, ms: number, during?: () => Promise<void>): Promise<PingEvent[]> {
  const events: PingEvent[] = [];
  const pinger = p(target, INTERVAL, (e) => events.push(e));
  try {
    await during?.();
    await new Promise((r) => setTimeout(r, ms));
  } finally {
    pinger.stop();
  }
  return events;
}

/** What every pinger does, the fake as the real one against the kernel. */
export function pingerContract(name: string, setup: () => Promise<PingWorld>, skip?: string): void {
  describe(`pinger contract: ${name}`, { skip }, () => {
    let w: PingWorld;
    before(async () => {
      w = await setup();
    });
    after(async () => w?.close());

    it("a reachable target answers every probe with its round trip", async () => {
      const events = await collect(w.pinger, w.reachable, 10 * INTERVAL);
      const replies = events.filter((e) => e.kind === "reply");
      assert.ok(replies.length >= 5, `replies: ${JSON.stringify(events)}`);
      assert.ok(replies.every((e) => e.rttMs >= 0 && e.rttMs < INTERVAL));
      assert.equal(events.filter((e) => e.kind !== "reply").length, 0);
    });

    it("a target dropping probes loses one probe an interval, and answers again when it stops dropping", async () => {
      const events = await collect(w.pinger, w.reachable, 8 * INTERVAL, () => w.drop(true));
      const lost = events.filter((e) => e.kind === "lost").length;
      assert.ok(lost >= 4 && lost <= 9, `lost ${lost}: ${JSON.stringify(events)}`);
      await w.drop(false);
      const again = await collect(w.pinger, w.reachable, 5 * INTERVAL);
      assert.ok(
        again.some((e) => e.kind === "reply"),
        JSON.stringify(again),
      );
    });

    it("a target without a route fails the pinger once, saying so", async () => {
      const events = await collect(w.pinger, w.unroutable, 5 * INTERVAL);
      assert.equal(events.length, 1, JSON.stringify(events));
      const [e] = events;
      assert.equal(e?.kind, "failed");
      assert.match(e?.kind === "failed" ? e.message : "", /unreachable/i);
    });

    it("probes from a given source address", async () => {
      const before = await w.probesFrom(w.source);
      const events: PingEvent[] = [];
      const p = w.pinger(w.reachable, INTERVAL, (e) => events.push(e), w.source);
      await new Promise((r) => setTimeout(r, 5 * INTERVAL));
      p.stop();
      const replies = events.filter((e) => e.kind === "reply").length;
      assert.ok(replies > 0, JSON.stringify(events));
      assert.ok(
        (await w.probesFrom(w.source)) - before >= replies,
        `the target saw ${(await w.probesFrom(w.source)) - before} probes from ${w.source}, ${replies} were answered`,
      );
    });

    it("without a source, probes leave from the kernel's choice, not the given-source address", async () => {
      const before = await w.probesFrom(w.source);
      await collect(w.pinger, w.reachable, 3 * INTERVAL);
      assert.equal((await w.probesFrom(w.source)) - before, 0);
    });

    it("reports nothing once stopped", async () => {
      const events: PingEvent[] = [];
      const p = w.pinger(w.reachable, INTERVAL, (e) => events.push(e));
      p.stop();
      await new Promise((r) => setTimeout(r, 3 * INTERVAL));
      assert.deepEqual(events, []);
    });
  });
}
