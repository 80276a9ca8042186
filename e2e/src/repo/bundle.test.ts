/**
 * The image's bundles (scripts/bundle.ts): what each program loads when it starts. The route
 * agent in Kubernetes mode never talks to the broker, so grpc-js (with protobufjs, ~20 MiB
 * resident) must not be among the files its bundle imports statically — only behind the
 * standalone mode's import(). The gateway, which needs it, is the check that the test can tell.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { REPO_ROOT } from "@causeway/lab";

const GRPC = "node_modules/@grpc/grpc-js/build/src/index.js";

/** Every file a bundle imports statically (import … from / import "…"), transitively; dynamic import() not followed. */
function staticGraph(entry: string): string[] {
  const seen = new Set<string>();
  const walk = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(/(?:\bfrom\s*|\bimport\s*)"(\.{1,2}\/[^"]+\.mjs)"/g)) walk(join(dirname(file), m[1] ?? ""));
  };
  walk(entry);
  return [...seen];
}

describe("image bundles: what a program loads at start", { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "causeway-bundles-"));
  before(async () => {
    await promisify(execFile)(process.execPath, [join(REPO_ROOT, "scripts/bundle.ts"), dir], { cwd: REPO_ROOT });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const loadsGrpc = (program: string) => staticGraph(join(dir, `${program}.mjs`)).some((f) => readFileSync(f, "utf8").includes(GRPC));

  it("the route agent does not load grpc-js at start (only its standalone mode imports the broker client)", () => {
    assert.equal(loadsGrpc("route-agent"), false);
    const all = staticGraph(join(dir, "route-agent.mjs"));
    assert.ok(all.length > 1, `the route agent's bundle imports its shared chunks: ${all.join(", ")}`);
  });

  it("the gateway, which talks to the broker, does", () => {
    assert.equal(loadsGrpc("gateway"), true);
  });
});
