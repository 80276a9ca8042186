/** @causeway/route-agent — per-node steering of cross-cluster traffic. */
export { NodeIpNotFoundError, RouteAgent, type RouteAgentDeps } from "./agent.ts";
export { desiredState, GatewayNotOnLinkError, OWNERSHIP, type RouteAgentInput, RULE_PRIORITY, TABLE, VX } from "./desired.ts";
