/** @causeway/cli — the `causeway` command line (cli/src/main.ts); its entry point offers what the demo prints: the `show` views. */
export { buildViews, type ClusterView, renderTable, renderText, type Section, SECTIONS, toData } from "./show/index.ts";
/** The dashboard (bench/dashboard.ts serves a synthetic clusterset with it). */
export { dashboardPage } from "./dashboard/build.ts";
export { BrokerFeed, MemoryFeed } from "./dashboard/feed.ts";
export { Dashboard } from "./dashboard/server.ts";
export { syntheticClusterset } from "./dashboard/synthetic.ts";
