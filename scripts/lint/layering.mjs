/**
 * ESLint rule causeway/layering: the allowed arrows between workspaces (docs/architecture.md §
 * "Layering"). For every import in a workspace's file it checks that
 *   - `@causeway/x` is a workspace this one may import (tests and tools may import any),
 *   - only entry points are imported: `@causeway/x`, or a subpath x's package.json exports
 *     (`@causeway/common/broker-client`), never `@causeway/x/src/...` or a relative path into x,
 *   - the workspace's package.json declares it (tests: dependencies or devDependencies),
 *   - a relative import stays inside its own workspace,
 *   - the CLI reaches the lab only through cli/src/labs.ts, lazily (a type import or import()).
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";

/** Who may import whom (besides itself). Tests, e2e/, bench/ and scripts/ may import any workspace's entry point. */
export const ARROWS = {
  api: [],
  common: ["api"],
  broker: ["api", "common"],
  gateway: ["api", "common"],
  "route-agent": ["api", "common"],
  lighthouse: ["api", "common"],
  deploy: ["api", "common"],
  lab: ["api", "common", "broker", "gateway", "route-agent", "lighthouse", "deploy"],
  cli: ["api", "common", "deploy", "lab"],
};
const TOOLS = new Set(["e2e", "bench", "scripts"]);
/** The one CLI file that may name @causeway/lab, and only lazily. */
const LAB_DOOR = "cli/src/labs.ts";

/** The subpaths a workspace's package.json exports besides "." (e.g. "broker-client"). */
function subpaths(root, ws) {
  const file = join(root, ws, "package.json");
  const exp = existsSync(file) ? JSON.parse(readFileSync(file, "utf8")).exports : undefined;
  return new Set(
    Object.keys(exp && typeof exp === "object" ? exp : {})
      .filter((k) => k !== ".")
      .map((k) => k.replace(/^\.\//, "")),
  );
}

const manifests = new Map();
function declared(root, ws) {
  if (!manifests.has(ws)) {
    const file = join(root, ws, "package.json");
    const pkg = existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) : undefined;
    manifests.set(ws, pkg && { deps: Object.keys(pkg.dependencies ?? {}), dev: Object.keys(pkg.devDependencies ?? {}) });
  }
  return manifests.get(ws);
}

export const layering = {
  meta: { type: "problem", schema: [{ type: "object", properties: { root: { type: "string" } }, additionalProperties: false }], messages: {} },
  create(context) {
    const root = context.options[0]?.root ?? context.cwd;
    const file = relative(root, context.filename).split(sep).join("/");
    const ws = file.split("/")[0];
    if (!(ws in ARROWS) && !TOOLS.has(ws)) return {};
    const isTest = TOOLS.has(ws) || /\.test\.ts$/.test(file);
    const check = (node, source, how) => {
      if (typeof source !== "string") return;
      const report = (message) => context.report({ node, message });
      if (source.startsWith("@causeway/")) {
        const [, name, ...rest] = source.split("/");
        if (rest.length && !subpaths(root, name).has(rest.join("/")))
          report(`deep import '${source}': import '@causeway/${name}' (its index.ts) or a subpath its package.json exports instead`);
        if (name === ws) return report(`${ws} imports itself as '${source}': use a relative import`);
        if (!isTest && !ARROWS[ws].includes(name))
          report(`${ws} may not import @causeway/${name} (${ws} may import: ${ARROWS[ws].join(", ") || "nothing"}); see docs/architecture.md, Layering`);
        if (ws === "cli" && name === "lab" && !isTest && (file !== LAB_DOOR || !(how.typeOnly || how.dynamic)))
          report(`the CLI reaches @causeway/lab only through ${LAB_DOOR} (a type import or import()): commands that do not work on a lab must not load it`);
        const pkg = declared(root, ws);
        if (pkg && !pkg.deps.includes(source.split("/").slice(0, 2).join("/")) && !(isTest && pkg.dev.includes(`@causeway/${name}`)))
          report(`@causeway/${name} is not declared in ${ws}/package.json ${isTest ? "dependencies or devDependencies" : "dependencies"}`);
      } else if (source.startsWith(".")) {
        const target = relative(root, resolve(dirname(context.filename), source))
          .split(sep)
          .join("/");
        const tws = target.split("/")[0];
        if (tws !== ws) report(`relative import '${source}' leaves ${ws}/ for ${tws}/: import '@causeway/${tws}' (its index.ts) instead`);
      }
    };
    return {
      ImportDeclaration: (n) => check(n, n.source.value, { typeOnly: n.importKind === "type" }),
      ExportNamedDeclaration: (n) => n.source && check(n, n.source.value, { typeOnly: n.exportKind === "type" }),
      ExportAllDeclaration: (n) => check(n, n.source.value, { typeOnly: n.exportKind === "type" }),
      ImportExpression: (n) => n.source.type === "Literal" && check(n, n.source.value, { dynamic: true }),
    };
  },
};

export default { rules: { layering } };
