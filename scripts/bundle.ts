/**
 * Each program of the image bundled to one ES module (esbuild): Causeway's code and its runtime
 * dependencies, nothing else. What the sources load lazily through createRequire (pino,
 * prom-client, yaml) is bundled too and still loads on first use; the lab is left out (its
 * commands run from a checkout); grpc-health-check's proto file is shipped beside the bundles.
 */
import { copyFileSync, mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build, type Plugin } from "esbuild";
import { IMAGE_BUNDLES } from "@causeway/deploy";

/** `createRequire(import.meta.url)("x")` in our sources → `require("x")`, which esbuild bundles (still evaluated on first call). */
const lazyRequires: Plugin = {
  name: "causeway-lazy-requires",
  setup(b) {
    b.onLoad({ filter: /\/(api|common|broker|gateway|route-agent|lighthouse|cli|deploy)\/src\/.*\.ts$/ }, (args) => {
      const text = readFileSync(args.path, "utf8");
      return { contents: text.replace(/createRequire\(import\.meta\.url\)\(/g, "require("), loader: "ts" };
    });
  },
};

/** grpc-health-check reads its proto from `${__dirname}/../../proto`; beside the bundles it sits in <app>/proto. */
const healthProto: Plugin = {
  name: "causeway-health-proto",
  setup(b) {
    b.onLoad({ filter: /grpc-health-check\/build\/src\/health\.js$/ }, (args) => {
      const text = readFileSync(args.path, "utf8");
      const from = "`${__dirname}/../../proto`";
      if (!text.includes(from)) throw new Error(`grpc-health-check changed: ${from} not found in ${args.path}; update scripts/bundle.ts`);
      return { contents: text.replace(from, "`${__cwAppDir}/proto`"), loader: "js" };
    });
  },
};

/** CommonJS dependencies inside an ES module need require, __filename and __dirname; __cwAppDir is the bundles' folder (a shared chunk sits in its lib/). */
const BANNER = [
  `import { createRequire as __cwCreateRequire } from "node:module";`,
  `import { fileURLToPath as __cwFileURLToPath } from "node:url";`,
  `import { dirname as __cwDirname } from "node:path";`,
  `const require = __cwCreateRequire(import.meta.url);`,
  `const __filename = __cwFileURLToPath(import.meta.url);`,
  `const __dirname = __cwDirname(__filename);`,
  `const __cwAppDir = __dirname.endsWith("/lib") ? __cwDirname(__dirname) : __dirname;`,
].join("\n");

/** Bundles every program into `outDir` (<name>.mjs) and copies the health proto; the bundles' total size. */
export async function bundleAll(repo: string, outDir: string): Promise<{ bytes: number }> {
  mkdirSync(outDir, { recursive: true });
  const entries = Object.entries(IMAGE_BUNDLES);
  await build({
    absWorkingDir: repo,
    entryPoints: Object.fromEntries(entries.map(([name, entry]) => [name, join(repo, entry)])),
    outdir: outDir,
    outExtension: { ".js": ".mjs" },
    bundle: true,
    // Code the programs share (the Kubernetes client, gRPC) is one chunk file, not five copies.
    splitting: true,
    chunkNames: "lib/[name]-[hash]",
    platform: "node",
    format: "esm",
    target: "node24",
    minifyWhitespace: true,
    minifySyntax: true,
    keepNames: true,
    legalComments: "none",
    // The lab drives namespaces on a developer's host; it is never in the image.
    external: ["@causeway/lab"],
    banner: { js: BANNER },
    plugins: [lazyRequires, healthProto],
    logLevel: "warning",
  });
  const proto = join(outDir, "proto/health/v1");
  mkdirSync(proto, { recursive: true });
  copyFileSync(join(repo, "node_modules/grpc-health-check/proto/health/v1/health.proto"), join(proto, "health.proto"));
  const files = readdirSync(outDir, { recursive: true, encoding: "utf8" }).map((f) => join(outDir, f));
  return { bytes: files.reduce((n, f) => n + (statSync(f).isFile() ? statSync(f).size : 0), 0) };
}

// node scripts/bundle.ts <dir>: the bundles alone (the Dockerfile's build stage).
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2];
  if (!dir) {
    console.error("usage: node scripts/bundle.ts <output directory>");
    process.exit(2);
  }
  const { bytes } = await bundleAll(resolve(import.meta.dirname, ".."), resolve(dir));
  console.log(`bundles in ${dir}: ${(bytes / 1e6).toFixed(1)} MB`);
}
