import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileDigest, imageConfig, qualifiedRef, reproducibleTar, writeImageArchive } from "./oci.ts";

/** A one-file layer tar, written reproducibly. */
function layer(dir: string, name: string, content: string): string {
  const root = join(dir, `${name}-root`);
  mkdirSync(root, { recursive: true });
  writeFileSync(join(root, name), content);
  const file = join(dir, `${name}.tar`);
  reproducibleTar(root, file, 0);
  return file;
}

describe("image archive", () => {
  it("names short references as containerd and Docker do", () => {
    assert.equal(qualifiedRef("causeway:0.1.0"), "docker.io/library/causeway:0.1.0");
    assert.equal(qualifiedRef("team/causeway:1"), "docker.io/team/causeway:1");
    assert.equal(qualifiedRef("registry.example:5000/causeway:1"), "registry.example:5000/causeway:1");
    assert.equal(qualifiedRef("localhost/pause:1"), "localhost/pause:1");
  });

  it("the config lists the layers' digests as diff IDs and the entry point", () => {
    const c = JSON.parse(imageConfig({ layers: [], ref: "x:1", entrypoint: ["/pause"], epoch: 0 }, ["sha256:aa"])) as Record<string, unknown>;
    assert.deepEqual(c.rootfs, { type: "layers", diff_ids: ["sha256:aa"] });
    assert.deepEqual((c.config as { Entrypoint: string[] }).Entrypoint, ["/pause"]);
    assert.equal(c.created, "1970-01-01T00:00:00.000Z");
  });

  it("writes an OCI layout with Docker's manifest.json, every blob under its digest, the same bytes twice", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cw-oci-test-"));
    try {
      const layers = [layer(dir, "a", "first"), layer(dir, "b", "second")];
      const spec = { layers, ref: "causeway:9.9.9", entrypoint: ["/bin/true"], epoch: 1_700_000_000 };
      const one = await writeImageArchive(spec, join(dir, "one.tar"));
      const two = await writeImageArchive(spec, join(dir, "two.tar"));
      assert.equal(await fileDigest(one.file), await fileDigest(two.file), "reproducible");
      const out = join(dir, "x");
      mkdirSync(out);
      execFileSync("tar", ["-xf", one.file, "-C", out]);
      const index = JSON.parse(readFileSync(join(out, "index.json"), "utf8")) as { manifests: { digest: string; annotations: Record<string, string> }[] };
      assert.equal(index.manifests[0]?.digest, one.manifestDigest);
      assert.equal(index.manifests[0]?.annotations["io.containerd.image.name"], "docker.io/library/causeway:9.9.9");
      const blob = (d: string) => join(out, "blobs/sha256", d.slice(7));
      const manifest = JSON.parse(readFileSync(blob(one.manifestDigest), "utf8")) as { config: { digest: string }; layers: { digest: string; size: number }[] };
      assert.equal(await fileDigest(blob(one.manifestDigest)), one.manifestDigest);
      for (const [i, l] of manifest.layers.entries()) {
        assert.equal(l.digest, await fileDigest(layers[i] ?? ""));
        assert.equal(await fileDigest(blob(l.digest)), l.digest);
      }
      const docker = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8")) as { Config: string; RepoTags: string[]; Layers: string[] }[];
      assert.deepEqual(docker[0]?.RepoTags, ["causeway:9.9.9"]);
      assert.equal(docker[0]?.Config, `blobs/sha256/${manifest.config.digest.slice(7)}`);
      assert.equal(docker[0]?.Layers.length, 2);
      assert.deepEqual(JSON.parse(readFileSync(join(out, "oci-layout"), "utf8")) as unknown, { imageLayoutVersion: "1.0.0" });
      assert.equal(
        one.bytes,
        manifest.layers.reduce((n, l) => n + l.size, 0),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
