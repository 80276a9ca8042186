/**
 * An image archive without a registry or a daemon: OCI image layout (oci-layout, index.json,
 * blobs/sha256/…) plus Docker's manifest.json in one tar — the format `docker save` writes and
 * that `ctr images import`, `docker load`, `podman load` and `kind load image-archive` read.
 * Layers are uncompressed tars (their digest is their diff ID); the outer tar is written by GNU
 * tar with sorted names, one mtime and numeric owner 0, so the same inputs give the same bytes.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, createReadStream, linkSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

export interface ImageSpec {
  /** Layer tars, bottom first. */
  readonly layers: readonly string[];
  /** The reference it is tagged with: name:tag (containerd stores causeway:0.1.0 as docker.io/library/causeway:0.1.0). */
  readonly ref: string;
  readonly entrypoint?: readonly string[];
  readonly cmd?: readonly string[];
  readonly env?: readonly string[];
  readonly workingDir?: string;
  /** Seconds since the epoch for the config's created field and the tar's mtimes (SOURCE_DATE_EPOCH). */
  readonly epoch: number;
}

export interface ImageArchive {
  readonly file: string;
  /** The manifest's digest (sha256:…), what the runtime reports as the image's. */
  readonly manifestDigest: string;
  /** The layers' total size: the image's uncompressed size. */
  readonly bytes: number;
}

/** sha256 of a file, streamed. */
export async function fileDigest(file: string): Promise<string> {
  const h = createHash("sha256");
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return `sha256:${h.digest("hex")}`;
}

/**
 * A tar of `entries` (default: everything) under `dir` that depends only on the files: sorted
 * names, every mtime `epoch` (or older), owner 0 — the same files give the same bytes.
 */
export function reproducibleTar(dir: string, file: string, epoch: number, entries: readonly string[] = ["."]): void {
  execFileSync("tar", ["--sort=name", `--mtime=@${epoch}`, "--clamp-mtime", "--owner=0", "--group=0", "--numeric-owner", "-cf", file, "-C", dir, ...entries]);
}

const digestOf = (data: string): string => `sha256:${createHash("sha256").update(data).digest("hex")}`;

/** Pure: the fully qualified name containerd and Docker give a short reference (causeway:0.1.0 → docker.io/library/causeway:0.1.0). */
export function qualifiedRef(ref: string): string {
  const [first = "", ...rest] = ref.split("/");
  if (!rest.length) return `docker.io/library/${ref}`;
  return first.includes(".") || first.includes(":") || first === "localhost" ? ref : `docker.io/${ref}`;
}

/** Pure: the image config (OCI image-spec config; Docker reads the same fields). */
export function imageConfig(spec: ImageSpec, diffIds: readonly string[]): string {
  const config: Record<string, unknown> = {
    ...(spec.entrypoint ? { Entrypoint: spec.entrypoint } : {}),
    ...(spec.cmd ? { Cmd: spec.cmd } : {}),
    Env: spec.env ?? ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
    ...(spec.workingDir ? { WorkingDir: spec.workingDir } : {}),
  };
  return JSON.stringify({
    architecture: "amd64",
    os: "linux",
    created: new Date(spec.epoch * 1000).toISOString(),
    config,
    rootfs: { type: "layers", diff_ids: diffIds },
  });
}

/** A hard link where both sit on one filesystem, a copy otherwise. */
function linkOrCopy(from: string, to: string): void {
  try {
    linkSync(from, to);
  } catch {
    copyFileSync(from, to);
  }
}

/** Writes the archive of `spec` to `out`. */
export async function writeImageArchive(spec: ImageSpec, out: string): Promise<ImageArchive> {
  // Beside the output, so the layers (usually in the same cache) are linked into it, not copied.
  mkdirSync(dirname(out), { recursive: true });
  const dir = mkdtempSync(join(dirname(out), ".cw-oci-"));
  try {
    const blobs = join(dir, "blobs/sha256");
    mkdirSync(blobs, { recursive: true });
    const layers: { digest: string; size: number }[] = [];
    for (const l of spec.layers) {
      const digest = await fileDigest(l);
      linkOrCopy(l, join(blobs, digest.slice(7)));
      layers.push({ digest, size: statSync(l).size });
    }
    const put = (text: string) => {
      const digest = digestOf(text);
      writeFileSync(join(blobs, digest.slice(7)), text);
      return { digest, size: Buffer.byteLength(text) };
    };
    const config = put(
      imageConfig(
        spec,
        layers.map((l) => l.digest),
      ),
    );
    const manifest = put(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
        layers: layers.map((l) => ({ mediaType: "application/vnd.oci.image.layer.v1.tar", ...l })),
      }),
    );
    const name = qualifiedRef(spec.ref);
    writeFileSync(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
    writeFileSync(
      join(dir, "index.json"),
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.index.v1+json",
        manifests: [
          {
            mediaType: "application/vnd.oci.image.manifest.v1+json",
            ...manifest,
            annotations: { "io.containerd.image.name": name, "org.opencontainers.image.ref.name": spec.ref.split(":").pop() ?? "latest" },
          },
        ],
      }),
    );
    // Docker's form: docker load (before 25) and kind read this one.
    writeFileSync(
      join(dir, "manifest.json"),
      JSON.stringify([
        { Config: `blobs/sha256/${config.digest.slice(7)}`, RepoTags: [spec.ref], Layers: layers.map((l) => `blobs/sha256/${l.digest.slice(7)}`) },
      ]),
    );
    reproducibleTar(dir, out, spec.epoch, ["oci-layout", "index.json", "manifest.json", "blobs"]);
    return { file: out, manifestDigest: manifest.digest, bytes: layers.reduce((n, l) => n + l.size, 0) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
