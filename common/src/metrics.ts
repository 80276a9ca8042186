import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createRequire } from "node:module";
import type * as PromClient from "prom-client";
import type { Registry } from "prom-client";

/** prom-client, loaded with the first registry: a CLI command serves no metrics and does not load it. */
const promClient = (): typeof PromClient => createRequire(import.meta.url)("prom-client") as typeof PromClient;
import type { Logger } from "./log.ts";
import { ValidationError } from "@causeway/api";

/** Metrics ports of the components (0 turns a component's server off). Gateway and route agent share a gateway node's network. */
export const METRICS_PORTS = { gateway: 32780, routeAgent: 32781, broker: 32782, lighthouse: 32783 } as const;

/** A registry with the process metrics (CPU, memory, event-loop lag) and a `component` label on everything. */
export function newRegistry(component: string): Registry {
  const { collectDefaultMetrics, Registry } = promClient();
  const registry = new Registry();
  registry.setDefaultLabels({ component });
  collectDefaultMetrics({ register: registry });
  return registry;
}

/** --metrics-port is taken: configuration, exit 2. */
export class MetricsPortInUseError extends ValidationError {
  override name = "MetricsPortInUseError";
}

export interface ProbeServerOptions {
  readonly port: number;
  readonly host?: string;
  readonly registry: Registry;
  /** Why the component is not ready yet (503 with this text), or undefined when it is. */
  readonly ready: () => string | undefined;
  readonly log: Logger;
}

/**
 * A component's HTTP endpoint: `/metrics` (Prometheus text), `/healthz` (the process answers:
 * its event loop runs) and `/readyz` (the component's own readiness, 503 with the reason
 * while not ready). Nothing else is served.
 */
export class ProbeServer {
  readonly #o: ProbeServerOptions;
  readonly #server: Server;

  private constructor(o: ProbeServerOptions) {
    this.#o = o;
    this.#server = createServer((req, res) => {
      void this.#answer(req.url ?? "/").then(({ code, type, body }) => {
        res.writeHead(code, { "content-type": type });
        res.end(req.method === "HEAD" ? undefined : body);
      });
    });
  }

  /** Listens on the port (all addresses by default); a port in use is a MetricsPortInUseError naming the flag. */
  static async start(o: ProbeServerOptions): Promise<ProbeServer> {
    const s = new ProbeServer(o);
    await new Promise<void>((resolve, reject) => {
      s.#server.once("error", (err: NodeJS.ErrnoException) =>
        reject(
          err.code === "EADDRINUSE"
            ? new MetricsPortInUseError(`metrics port ${o.port} is in use: pass --metrics-port with a free port (0 turns metrics and probes off)`, [], {
                cause: err,
              })
            : err,
        ),
      );
      s.#server.listen(o.port, o.host ?? "0.0.0.0", () => resolve());
    });
    return s;
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  async #answer(url: string): Promise<{ code: number; type: string; body: string }> {
    const path = url.split("?")[0];
    const text = "text/plain; charset=utf-8";
    if (path === "/healthz") return { code: 200, type: text, body: "ok\n" };
    if (path === "/readyz") {
      const why = this.#o.ready();
      return why === undefined ? { code: 200, type: text, body: "ok\n" } : { code: 503, type: text, body: `not ready: ${why}\n` };
    }
    if (path === "/metrics") {
      try {
        return { code: 200, type: this.#o.registry.contentType, body: await this.#o.registry.metrics() };
      } catch (err) {
        this.#o.log.warn({ err: String(err) }, "metrics collection failed");
        return { code: 500, type: text, body: "metrics collection failed\n" };
      }
    }
    return { code: 404, type: text, body: "not found: try /metrics, /healthz or /readyz\n" };
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}

/** The --metrics-port flag as a port (0: off); throws naming the flag otherwise. */
export function metricsPortFromFlag(value: string | undefined, dflt: number): number {
  if (value === undefined) return dflt;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ValidationError(`--metrics-port must be a TCP port, or 0 for none, got "${value}"`);
  return port;
}
