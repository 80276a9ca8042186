import type { PingEvent, Pinger, PingerFactory } from "./pinger.ts";

/** How a fake target behaves: answers (with a round trip), drops probes, or has no route. */
export type FakeTargetMode = { readonly kind: "up"; readonly rttMs: number } | { readonly kind: "drop" } | { readonly kind: "unroutable" };

/**
 * A network of probe targets for unit tests, behaving as iputils ping does against the kernel
 * (the contract suite in pinger.test.ts holds both to it): a target without a route fails the
 * pinger at start; a probe is reported lost when the next one leaves; a route lost while
 * probing just loses probes. Unknown targets have no route.
 */
export class FakePingNetwork {
  readonly #modes = new Map<string, FakeTargetMode>();
  /** Pingers running now (tests check that stop() ends them). */
  running = 0;

  set(target: string, mode: FakeTargetMode): void {
    this.#modes.set(target, mode);
  }

  #mode(target: string): FakeTargetMode {
    return this.#modes.get(target) ?? { kind: "unroutable" };
  }

  readonly pinger: PingerFactory = (target, intervalMs, on): Pinger => {
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
    const tick = () => {
      if (pending) emit({ kind: "lost" });
      const mode = this.#mode(target);
      pending = mode.kind !== "up";
      if (mode.kind === "up") setTimeout(() => emit({ kind: "reply", rttMs: mode.rttMs }), mode.rttMs);
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
