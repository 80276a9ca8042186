/** @causeway/cli — the `causeway` command line (cli/src/main.ts); its entry point offers what the demo prints: the `show` views. */
export { buildViews, type ClusterView, renderTable, renderText, type Section, SECTIONS, toData } from "./show/index.ts";
