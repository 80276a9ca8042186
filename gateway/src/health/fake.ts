import type { PingEvent, Pinger, PingerFactory } from "./pinger.ts";

/** How a fake target behaves: answers (with a round trip), drops probes, or has no route. */
export type FakeTargetMode =
  | { readonly kind: "up"; readonly rttMs: number }
  | { readonly kind: "drop" }
  | { readonly kind: "unroutable" }
  /** Fault injection: probe streams started before this was set lose every probe, fresh ones are answered (state pinned to a stream, e.g. its conntrack flow). */
  | { readonly kind: "stuck"; readonly rttMs: number };

/**
 * A network of probe targets for unit tests, behaving as iputils ping does against the kernel
 * (the contract suite in pinger.test.ts holds both to it): a target without a route fails the
 * pinger at start; a probe is reported lost when the next one leaves; a route lost while
 * probing just loses probes. Unknown targets have no route.
 */
export class FakePingNetwork {
  readonly #modes = new Map<string, FakeTargetMode & { readonly since?: number }>();
  #clock = 0;
  /** Pingers running now (tests check that stop() ends them). */
  running = 0;
  /** Probes sent per source address ("" when the pinger was given none). */
  readonly #sent = new Map<string, number>();

  /** How many probes have left from `source` (the contract's source check). */
  probesFrom(source: string): number {
    return this.#sent.get(source) ?? 0;
  }

  set(target: string, mode: FakeTargetMode): void {
    this.#modes.set(target, { ...mode, since: this.#clock++ });
  }

  #mode(target: string): FakeTargetMode {
    return this.#modes.get(target) ?? { kind: "unroutable" };
  }

  readonly pinger: PingerFactory = (target, intervalMs, on, source): Pinger => {
    let stopped = false;
    let pending = false;
    const emit = (e: PingEvent) => {
      if (!stopped) on(e);
    };
    if (this.#mode(target).kind === "unroutable") {
      setImmediate(() => emit({ kind: "failed", message: "ping: connect: Network is unreachable" }));
      return { stop: () => void (stopped = true) };
    }
    this.running++;
    const born = this.#clock++;
    const tick = () => {
      if (pending) emit({ kind: "lost" });
      this.#sent.set(source ?? "", this.probesFrom(source ?? "") + 1);
      const mode = this.#modes.get(target) ?? { kind: "unroutable" as const };
      const answers = mode.kind === "up" || (mode.kind === "stuck" && born > (mode.since ?? 0));
      pending = !answers;
      if (answers && "rttMs" in mode) setTimeout(() => emit({ kind: "reply", rttMs: mode.rttMs }), mode.rttMs);
    };
    const timer = setInterval(tick, intervalMs);
    setImmediate(tick);
    return {
      stop: () => {
        if (stopped) return;
        stopped = true;
        this.running--;
        clearInterval(timer);
      },
    };
  };
}
