/** @causeway/route-agent — per-node steering of cross-cluster traffic. */
export { RouteAgent, type RouteAgentDeps } from "./agent.ts";
export { desiredState, OWNERSHIP, type RouteAgentInput, RULE_PRIORITY, TABLE, VX } from "./desired.ts";
