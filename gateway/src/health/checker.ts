import { type Connection, GATEWAY_DEFAULTS, type GatewaySettings, healthCheckSettings } from "@causeway/api";
import type { Logger, view } from "@causeway/common";
import { icmpPinger, type PingEvent, type Pinger, type PingerFactory } from "./pinger.ts";
import { RttStats } from "./stats.ts";

/** Health-check settings (reference §5.2 defaults: a probe a second, error after 5 unanswered in a row). */
export interface HealthCheckSettings {
  /** Between probes to each remote endpoint's health-check IP; at least 100 ms. */
  readonly intervalMs: number;
  /** Unanswered probes in a row that turn a connection to `error`; at least 1. */
  readonly maxPacketLoss: number;
}

export const DEFAULT_HEALTH_CHECK: HealthCheckSettings = {
  intervalMs: GATEWAY_DEFAULTS.healthCheckInterval * 1000,
  maxPacketLoss: GATEWAY_DEFAULTS.healthCheckMaxPacketLossCount,
};

/** The checker's settings from the cluster configuration's (checked there: ValidationError naming the flag). */
export function healthCheckOf(s: Pick<GatewaySettings, "healthCheckInterval" | "healthCheckMaxPacketLossCount">): HealthCheckSettings {
  const checked = healthCheckSettings(s);
  return { intervalMs: checked.healthCheckInterval * 1000, maxPacketLoss: checked.healthCheckMaxPacketLossCount };
}

/** One remote endpoint to probe. */
export interface HealthTarget {
  readonly clusterId: string;
  readonly ip: string;
  /** What state() finds it by (api remoteKey: the cluster id, or an active-active gateway's cable name); default clusterId. */
  readonly key?: string;
}

const keyOf = (t: HealthTarget): string => t.key ?? t.clusterId;

/** What the probes say of one connection. */
export interface HealthState {
  /** connecting: no reply yet; connected: replies within the loss threshold; error: more lost in a row, or the probe cannot be sent. */
  readonly status: "connecting" | "connected" | "error";
  readonly message: string;
  readonly target: string;
  readonly rtt: RttStats;
  /** When the connection last turned connected (ms since the epoch); 0 while it is not. */
  readonly establishedAtMs: number;
}

interface Probe {
  readonly target: HealthTarget;
  pinger: Pinger | undefined;
  retry: NodeJS.Timeout | undefined;
  lost: number;
  state: HealthState;
}

/** After a pinger fails (no route, no ping binary), it is started again this long after, at least. */
const MIN_RETRY_MS = 1000;
/**
 * A probe stream in error is restarted this often (at least): a fresh ping has a fresh ICMP
 * identifier and so a fresh conntrack flow, and picks its route anew — state pinned to the
 * old stream (a flow created while the cable's NAT exemption was being rewritten) cannot keep
 * a healthy connection reported as error.
 */
const ERROR_RESTART_MS = 5000;

export interface HealthCheckerOptions extends HealthCheckSettings {
  readonly log: Logger;
  /** The address probes leave from (this gateway's health-check IP, inside the cable's routes). */
  readonly source?: string;
  readonly pinger?: PingerFactory;
  readonly now?: () => number;
}

/**
 * Probes each remote endpoint's health-check IP (ICMP by default) and keeps, per connection,
 * a status and RTT statistics. A source for the engine's loop: it tells of status changes
 * only (connecting → connected → error and back), not of every reply.
 */
export class HealthChecker implements view.Source {
  readonly synced = Promise.resolve();
  readonly #o: HealthCheckerOptions;
  readonly #pinger: PingerFactory;
  readonly #probes = new Map<string, Probe>();
  #onChange: () => void = () => undefined;
  #stopped = false;

  constructor(o: HealthCheckerOptions) {
    healthCheckOf({ healthCheckInterval: o.intervalMs / 1000, healthCheckMaxPacketLossCount: o.maxPacketLoss });
    this.#o = o;
    this.#pinger = o.pinger ?? icmpPinger();
  }

  start(onChange: () => void): void {
    this.#stopped = false;
    this.#onChange = onChange;
  }

  stop(): void {
    this.#stopped = true;
    for (const p of this.#probes.values()) this.#halt(p);
    this.#probes.clear();
  }

  /** Probes exactly these targets: new ones start (connecting), gone ones stop and are forgotten. */
  track(targets: readonly HealthTarget[]): void {
    if (this.#stopped) return;
    const wanted = new Map(targets.filter((t) => t.ip).map((t) => [`${keyOf(t)}/${t.ip}`, t]));
    for (const [key, p] of this.#probes) {
      if (!wanted.has(key)) {
        this.#halt(p);
        this.#probes.delete(key);
      }
    }
    for (const [key, target] of wanted) {
      if (this.#probes.has(key)) continue;
      const p: Probe = {
        target,
        pinger: undefined,
        retry: undefined,
        lost: 0,
        state: { status: "connecting", message: `probing ${target.ip}`, target: target.ip, rtt: new RttStats(), establishedAtMs: 0 },
      };
      this.#probes.set(key, p);
      this.#launch(p);
    }
  }

  /** What the probes say of a remote gateway's connection, by its key (HealthTarget.key); undefined when it is not probed. */
  state(key: string): HealthState | undefined {
    for (const p of this.#probes.values()) if (keyOf(p.target) === key) return p.state;
    return undefined;
  }

  #halt(p: Probe): void {
    p.pinger?.stop();
    p.pinger = undefined;
    if (p.retry) clearTimeout(p.retry);
    p.retry = undefined;
  }

  #launch(p: Probe): void {
    p.retry = undefined;
    if (this.#stopped) return;
    p.pinger = this.#pinger(p.target.ip, this.#o.intervalMs, (e) => this.#event(p, e), this.#o.source || undefined);
  }

  #event(p: Probe, e: PingEvent): void {
    if (this.#stopped || this.#probes.get(`${keyOf(p.target)}/${p.target.ip}`) !== p) return;
    const { intervalMs, maxPacketLoss } = this.#o;
    const now = this.#o.now ?? Date.now;
    if (e.kind === "reply") {
      p.lost = 0;
      // The reply that (re-)establishes a connection waited for neighbour resolution along a
      // fresh path (~1 s with VXLAN): kept out of the statistics, which describe the steady state.
      if (p.state.status === "connected") p.state.rtt.add(e.rttMs);
      else this.#set(p, { status: "connected", message: "", establishedAtMs: now() });
    } else if (e.kind === "lost") {
      p.lost++;
      if (p.lost >= maxPacketLoss && p.state.status !== "error") {
        this.#set(p, {
          status: "error",
          message: `no reply from the remote endpoint's health-check IP ${p.target.ip} to the last ${p.lost} probes (one every ${intervalMs} ms)`,
          establishedAtMs: 0,
        });
        this.#restartWhileFailing(p);
      }
    } else {
      p.pinger = undefined;
      this.#set(p, { status: "error", message: `cannot probe the remote endpoint's health-check IP ${p.target.ip}: ${e.message}`, establishedAtMs: 0 });
      if (p.retry) clearTimeout(p.retry);
      p.retry = setTimeout(() => this.#launch(p), Math.max(intervalMs, MIN_RETRY_MS));
    }
  }

  /** While `p` stays in error, its pinger is replaced every ERROR_RESTART_MS (or 5 intervals). */
  #restartWhileFailing(p: Probe): void {
    if (p.retry) return;
    p.retry = setTimeout(
      () => {
        p.retry = undefined;
        if (this.#stopped || p.state.status !== "error" || !p.pinger) return;
        p.pinger.stop();
        this.#launch(p);
        this.#restartWhileFailing(p);
      },
      Math.max(ERROR_RESTART_MS, 5 * this.#o.intervalMs),
    );
  }

  #set(p: Probe, change: Pick<HealthState, "status" | "message" | "establishedAtMs">): void {
    const was = p.state;
    p.state = { ...was, ...change };
    if (was.status === change.status && was.message === change.message) return;
    const fields = { remoteCluster: p.target.clusterId, target: p.target.ip, status: change.status };
    if (change.status === "error") this.#o.log.warn({ ...fields, reason: change.message }, "remote endpoint health check failing");
    else this.#o.log.info(fields, "remote endpoint health check");
    this.#onChange();
  }
}

/**
 * Pure: a connection's status from its cable driver's and its probes' (reference §5.2): replies
 * make it connected whatever the driver says; probes lost past the threshold (or impossible)
 * make it error; before the first verdict the driver decides.
 */
export function mergeHealth(
  driver: Pick<Connection, "status" | "statusMessage">,
  health: HealthState | undefined,
): Pick<Connection, "status" | "statusMessage" | "latencyRTT"> {
  if (!health) return driver;
  const latencyRTT = health.rtt.latency();
  const status = health.status === "connecting" ? driver.status : health.status;
  const statusMessage = health.status === "error" ? health.message : driver.statusMessage;
  return { status, statusMessage, ...(latencyRTT ? { latencyRTT } : {}) };
}
