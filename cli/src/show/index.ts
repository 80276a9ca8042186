export { buildViews, type ClusterView } from "./model.ts";
export { formatBytes, renderText, type Section, SECTIONS, toData } from "./render.ts";
export { renderTable } from "./table.ts";
