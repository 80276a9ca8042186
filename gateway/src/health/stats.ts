import type { Connection } from "@causeway/api";

type Latency = NonNullable<Connection["latencyRTT"]>;

const UNITS: readonly [number, string][] = [
  [1e6, "ms"],
  [1e3, "µs"],
  [1, "ns"],
];

/** Trims a fixed-point number's trailing zeros (and a bare point). */
const trim = (s: string): string => (s.includes(".") ? s.replace(/0+$/, "").replace(/\.$/, "") : s);

/**
 * Pure: a duration in nanoseconds as Go's time.Duration prints it ("447.358µs", "5.80437ms",
 * "1.5s", "2m3.5s"): what Submariner's Gateway status carries in latencyRTT (reference §2.3).
 */
export function goDuration(nanos: number): string {
  const ns = Math.round(nanos);
  if (ns === 0) return "0s";
  if (ns < 0) return `-${goDuration(-ns)}`;
  if (ns < 1e9) {
    const [scale, unit] = UNITS.find(([s]) => ns >= s) ?? [1, "ns"];
    return `${trim((ns / scale).toFixed(Math.log10(scale)))}${unit}`;
  }
  const totalSeconds = ns / 1e9;
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const secs = trim((ns % 60e9 === 0 ? 0 : (ns % 60e9) / 1e9).toFixed(9));
  return `${hours ? `${hours}h` : ""}${hours || minutes ? `${minutes}m` : ""}${secs}s`;
}

/** Samples kept before the window restarts (keeping the last two), as Submariner's pinger does. */
export const RTT_WINDOW = 1000;

/** Round-trip times of one connection: last, min, mean, max and population standard deviation over a window. */
export class RttStats {
  #samples: number[] = [];
  #last = 0;

  /** Adds a round trip in milliseconds. */
  add(rttMs: number): void {
    if (this.#samples.length >= RTT_WINDOW) this.#samples = this.#samples.slice(-2);
    this.#samples.push(rttMs);
    this.#last = rttMs;
  }

  get count(): number {
    return this.#samples.length;
  }

  /** Statistics in milliseconds; undefined before the first sample. */
  summary(): { last: number; min: number; average: number; max: number; stdDev: number } | undefined {
    const s = this.#samples;
    if (!s.length) return undefined;
    const average = s.reduce((a, b) => a + b, 0) / s.length;
    const variance = s.reduce((a, b) => a + (b - average) ** 2, 0) / s.length;
    return { last: this.#last, min: Math.min(...s), average, max: Math.max(...s), stdDev: Math.sqrt(variance) };
  }

  /** The statistics as Go duration strings (the Gateway status's latencyRTT); undefined before the first sample. */
  latency(): Latency | undefined {
    const m = this.summary();
    if (!m) return undefined;
    const d = (ms: number) => goDuration(ms * 1e6);
    return { last: d(m.last), min: d(m.min), average: d(m.average), max: d(m.max), stdDev: d(m.stdDev) };
  }
}
