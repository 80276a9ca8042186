/**
 * The dashboard page's bundle: esbuild bundles page/app.ts with its libraries (preact,
 * cytoscape, yaml) into one minified script, nothing fetched at run time. Built once per content
 * of the page's sources and kept under ~/.cache/causeway/dashboard.
 */
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import type { DashPage } from "./server.ts";

const PAGE_DIR = join(import.meta.dirname, "page");
const CACHE = join(process.env.CAUSEWAY_CACHE ?? join(homedir(), ".cache", "causeway"), "dashboard");

/** The page's sources (and the model and server types it imports), hashed: a change builds again. */
function sourceHash(): string {
  const h = createHash("sha256");
  for (const f of readdirSync(PAGE_DIR).sort()) h.update(f).update(readFileSync(join(PAGE_DIR, f)));
  for (const f of ["model.ts", "server.ts"]) h.update(readFileSync(join(import.meta.dirname, f)));
  return h.digest("hex").slice(0, 16);
}

/** The page: its HTML, CSS and bundled script (built, or read from the cache). */
export async function dashboardPage(): Promise<DashPage> {
  const html = readFileSync(join(PAGE_DIR, "index.html"), "utf8");
  const css = readFileSync(join(PAGE_DIR, "style.css"), "utf8");
  const cached = join(CACHE, `app-${sourceHash()}.js`);
  try {
    return { html, css, js: readFileSync(cached, "utf8") };
  } catch {
    // not built yet
  }
  const { build } = await import("esbuild");
  const out = await build({
    entryPoints: [join(PAGE_DIR, "app.ts")],
    bundle: true,
    minify: true,
    format: "iife",
    target: ["chrome120", "firefox120"],
    write: false,
    legalComments: "none",
    logLevel: "silent",
  });
  const js = out.outputFiles[0]?.text ?? "";
  mkdirSync(CACHE, { recursive: true });
  writeFileSync(cached, js);
  return { html, css, js };
}
