/**
 * The images the lab's real nodes need beside Causeway's own, built locally (no registry): a pause
 * (sandbox) image from lab/images/pause.c compiled static, and a CoreDNS image from the CoreDNS
 * binary the lab builds (lab/coredns/build.sh). Each archive is cached under
 * $CAUSEWAY_CACHE/images, keyed by what it is made of.
 */
import { execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { IMAGE, reproducibleTar, writeImageArchive } from "@causeway/deploy";
import { LabError } from "./errors.ts";
import { coreDnsBinary } from "./dns.ts";
import { CACHE_ROOT, REPO_ROOT } from "./paths.ts";

const IMAGES = join(CACHE_ROOT, "images");
/** Timestamps inside the lab's images (they hold no dated content). */
const EPOCH = 0;

export const PAUSE_IMAGE = "causeway.local/pause:1";
export const COREDNS_IMAGE = "causeway.local/coredns:1";

/** A one-layer image archive holding `files` (path in the image → file on this host, mode 0755), cached by their digest. */
async function oneLayerImage(ref: string, files: Record<string, string>, entrypoint: string[]): Promise<string> {
  const h = createHash("sha256").update(ref).update(JSON.stringify(entrypoint));
  for (const [to, from] of Object.entries(files)) h.update(to).update(readFileSync(from));
  const out = join(IMAGES, `${ref.replace(/[/:]/g, "-")}-${h.digest("hex").slice(0, 12)}.tar`);
  if (existsSync(out)) return out;
  mkdirSync(IMAGES, { recursive: true });
  const dir = mkdtempSync(join(tmpdir(), "cw-lab-image-"));
  try {
    const root = join(dir, "root");
    for (const [to, from] of Object.entries(files)) {
      const dest = join(root, to);
      mkdirSync(join(dest, ".."), { recursive: true });
      copyFileSync(from, dest);
      chmodSync(dest, 0o755);
    }
    const layer = join(dir, "layer.tar");
    reproducibleTar(root, layer, EPOCH);
    await writeImageArchive({ layers: [layer], ref, entrypoint, epoch: EPOCH }, `${out}.tmp`);
    renameSync(`${out}.tmp`, out);
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The pause image's archive: lab/images/pause.c compiled static (gcc). */
export async function pauseImage(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "cw-pause-"));
  try {
    const bin = join(dir, "pause");
    execFileSync("gcc", ["-Os", "-static", "-s", "-o", bin, join(REPO_ROOT, "lab/images/pause.c")]);
    return await oneLayerImage(PAUSE_IMAGE, { "/pause": bin }, ["/pause"]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The CoreDNS image's archive: the binary lab/coredns/build.sh builds (static, no cgo). */
export async function corednsImage(): Promise<string> {
  return oneLayerImage(COREDNS_IMAGE, { "/coredns": await coreDnsBinary() }, ["/coredns"]);
}

/** Causeway's own image archive, built from this checkout by `npm run image` (seconds when its root filesystem is cached). */
export async function causewayImage(): Promise<string> {
  const out = join(IMAGES, `${IMAGE.replace(":", "-")}.tar`);
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [join(REPO_ROOT, "scripts/image.ts"), "--out", out], { stdio: ["ignore", "pipe", "pipe"] });
    let err = "";
    for (const s of [child.stdout, child.stderr]) s.on("data", (d: Buffer) => (err = `${err}${d.toString()}`.slice(-4000)));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve() : reject(new LabError(`npm run image failed (exit ${code}): ${err.trim()}`))));
  });
  return out;
}
