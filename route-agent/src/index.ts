/** @causeway/route-agent — per-node steering of cross-cluster traffic. */
export { NodeIpNotFoundError, RouteAgent, type RouteAgentDeps } from "./agent.ts";
export {
  CLUSTERSET_RULE_PRIORITY,
  CLUSTERSET_TABLE,
  desiredState,
  GatewayNotOnLinkError,
  OWNERSHIP,
  type RouteAgentInput,
  RULE_PRIORITY,
  TABLE,
  VX,
  withClustersetRoutes,
} from "./desired.ts";
