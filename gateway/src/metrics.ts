import type { Connection, Endpoint } from "@causeway/api";
import { Counter, Gauge, type Registry } from "prom-client";
import type { Traffic } from "./cable/driver.ts";

const CABLE_LABELS = [
  "cable_driver",
  "local_cluster",
  "local_hostname",
  "local_endpoint_ip",
  "remote_cluster",
  "remote_hostname",
  "remote_endpoint_ip",
] as const;
type CableLabel = (typeof CABLE_LABELS)[number];

/** A connection as the metrics see it: its status, when it was established (ms since the epoch, 0: not), its round trip and its traffic. */
export interface ConnectionSample {
  readonly connection: Connection;
  readonly establishedAtMs: number;
  /** Mean round trip in seconds; undefined before the first probe reply. */
  readonly rttSeconds: number | undefined;
  readonly traffic: Traffic | undefined;
}

/**
 * The gateway's metrics, Submariner's (reference §5.4) with the `causeway_` prefix and the same
 * labels: connection status, latency, established timestamp, rx/tx bytes per cable, sync
 * passes; plus whether this gateway is the active one. Per-connection series are rewritten on
 * every update, so a removed connection's series disappear.
 */
export class GatewayMetrics {
  readonly #connections: Gauge<CableLabel | "status">;
  readonly #latency: Gauge<CableLabel>;
  readonly #established: Gauge<CableLabel>;
  readonly #rx: Gauge<CableLabel>;
  readonly #tx: Gauge<CableLabel>;
  readonly #active: Gauge;
  readonly #cable: Gauge<"direction">;
  readonly #flows: Gauge;
  readonly syncIterations: Counter;

  constructor(registry: Registry) {
    const labelNames = CABLE_LABELS;
    const registers = [registry];
    this.#connections = new Gauge({
      name: "causeway_connections",
      help: "Connections to remote gateways by status (1 for the current status of each)",
      labelNames: [...labelNames, "status"],
      registers,
    });
    this.#latency = new Gauge({
      name: "causeway_connection_latency_seconds",
      help: "Mean health-probe round trip to the remote gateway",
      labelNames,
      registers,
    });
    this.#established = new Gauge({
      name: "causeway_connection_established_timestamp",
      help: "Unix time the connection was last established",
      labelNames,
      registers,
    });
    this.#rx = new Gauge({ name: "causeway_gateway_rx_bytes", help: "Bytes received over the cable", labelNames, registers });
    this.#tx = new Gauge({ name: "causeway_gateway_tx_bytes", help: "Bytes sent over the cable", labelNames, registers });
    this.#active = new Gauge({ name: "causeway_gateway_active", help: "1 while this gateway is its cluster's active gateway", registers });
    this.#cable = new Gauge({
      name: "causeway_gateway_cable_bytes",
      help: "Bytes through this gateway's cable devices, all remote gateways together (VXLAN's device; WireGuard's, one per plane)",
      labelNames: ["direction"],
      registers,
    });
    this.#flows = new Gauge({
      name: "causeway_gateway_flows",
      help: "Open flows this gateway's host tracks to or from the remote clusters' subnets (conntrack entries; TCP's closing ones left out)",
      registers,
    });
    this.syncIterations = new Counter({ name: "causeway_gateway_sync_iterations", help: "Reconcile passes of the gateway engine", registers });
  }

  /** This gateway became active (true) or passive (false); a passive gateway has no connections. */
  setActive(active: boolean): void {
    this.#active.set(active ? 1 : 0);
    if (!active) {
      this.update(undefined, []);
      this.setCableTraffic(undefined);
      this.setFlows(undefined);
    }
  }

  /** What this gateway's cable devices have carried (absent: unknown, the series removed). */
  setCableTraffic(t: Traffic | undefined): void {
    this.#cable.reset();
    if (!t) return;
    this.#cable.set({ direction: "rx" }, t.rxBytes);
    this.#cable.set({ direction: "tx" }, t.txBytes);
  }

  /** The flows this gateway carries (undefined: unknown or passive, 0). */
  setFlows(n: number | undefined): void {
    this.#flows.reset();
    if (n !== undefined) this.#flows.set(n);
  }

  /** Rewrites every per-connection series from the connections of `local`. */
  update(local: Endpoint | undefined, samples: readonly ConnectionSample[]): void {
    for (const g of [this.#connections, this.#latency, this.#established, this.#rx, this.#tx]) g.reset();
    if (!local) return;
    for (const s of samples) {
      const remote = s.connection.endpoint;
      const labels: Record<CableLabel, string> = {
        cable_driver: local.backend,
        local_cluster: local.cluster_id,
        local_hostname: local.hostname,
        local_endpoint_ip: local.private_ip,
        remote_cluster: remote.cluster_id,
        remote_hostname: remote.hostname,
        remote_endpoint_ip: s.connection.usingIP || remote.private_ip,
      };
      this.#connections.set({ ...labels, status: s.connection.status }, 1);
      if (s.rttSeconds !== undefined) this.#latency.set(labels, s.rttSeconds);
      if (s.establishedAtMs) this.#established.set(labels, s.establishedAtMs / 1000);
      if (s.traffic) {
        this.#rx.set(labels, s.traffic.rxBytes);
        this.#tx.set(labels, s.traffic.txBytes);
      }
    }
  }
}
