import { Gauge, type Registry } from "prom-client";
import type { RouteAgent } from "./agent.ts";

/** The route agent's metrics (beyond the process ones): its reconcile passes, read at scrape time. */
export function routeAgentMetrics(registry: Registry, agent: RouteAgent): void {
  new Gauge({
    name: "causeway_route_agent_sync_iterations",
    help: "Reconcile passes of the route agent that completed",
    registers: [registry],
    collect() {
      this.set(agent.loop.passes);
    },
  });
}
