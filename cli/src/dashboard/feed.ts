/**
 * What the dashboard follows: the broker's records through a BrokerWatcher (the components' own
 * list-then-watch), or an in-memory source for tests. Both pass the feed contract (feed.test.ts).
 */
import type { Cluster, Endpoint } from "@causeway/api";
import { BrokerWatcher, type Logger } from "@causeway/common";
import type { BrokerConnection } from "@causeway/common/broker-client";
import type { DashSource } from "./model.ts";
import type { DashFeed } from "./server.ts";

const EMPTY: DashSource = { clusters: new Map(), endpoints: [], gateways: [], exports: [] };

/** A feed whose source and problem the caller sets (each set tells the dashboard at once). */
export class MemoryFeed implements DashFeed {
  #source: DashSource = EMPTY;
  #problem: string | undefined;
  #synced = false;
  #onChange: () => void = () => undefined;
  start(onChange: () => void): void {
    this.#onChange = onChange;
  }
  stop(): void {
    this.#onChange = () => undefined;
  }
  source(): DashSource {
    return this.#source;
  }
  problem(): string | undefined {
    return this.#problem;
  }
  synced(): boolean {
    return this.#synced;
  }
  set(s: Partial<DashSource>): void {
    this.#source = { ...EMPTY, ...s };
    this.#synced = true;
    this.#onChange();
  }
  fail(problem: string | undefined): void {
    this.#problem = problem;
    this.#onChange();
  }
}

/** The broker's clusters, endpoints, gateway statuses and exports, kept current by its watch. */
export class BrokerFeed implements DashFeed {
  readonly #conn: BrokerConnection;
  readonly #log: Logger;
  #watcher: BrokerWatcher | undefined;
  #problem: string | undefined;

  constructor(conn: BrokerConnection, log: Logger) {
    this.#conn = conn;
    this.#log = log;
  }

  start(onChange: () => void): void {
    const w = new BrokerWatcher(this.#conn, {
      kinds: ["cluster", "endpoint", "gateway", "export"],
      log: this.#log,
      onChange,
      onHealth: (err) => {
        this.#problem = err ? `broker ${this.#conn.address}: ${err.message}` : undefined;
        onChange();
      },
    });
    this.#watcher = w;
    w.start();
  }

  stop(): void {
    this.#watcher?.stop();
  }

  source(): DashSource {
    const w = this.#watcher;
    if (!w) return EMPTY;
    return {
      clusters: new Map<string, Cluster>(w.items("cluster").map((r) => [r.clusterId, r.value])),
      endpoints: w.items("endpoint").map((r): Endpoint => r.value),
      gateways: w.items("gateway").map((r) => ({ cluster: r.clusterId, node: r.name, status: r.value })),
      exports: w.items("export").map((r) => ({ cluster: r.clusterId, e: r.value })),
    };
  }

  problem(): string | undefined {
    return this.#problem;
  }

  synced(): boolean {
    return this.#watcher?.isSynced ?? false;
  }
}
