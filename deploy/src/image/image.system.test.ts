/**
 * Causeway's image as `npm run image` builds it (Debian packages through mmdebstrap, no
 * registry): within its size budget, holding bundles and no sources, and running in a real
 * containerd (Debian's, with runc) — the CLI answers, every program's bundle loads, and the
 * tools the components drive are there. containerd runs in a network namespace of its own
 * with its own root, state and socket; everything is removed after.
 */
import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { IMAGE } from "../manifests.ts";
import { IMAGE_BUNDLES } from "./contents.ts";
import { qualifiedRef } from "./oci.ts";

const REPO = join(import.meta.dirname, "../../..");
const has = (cmd: string) => spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;
const missing = ["mmdebstrap", "containerd", "ctr", "runc", "tar"].filter((c) => !has(c));
const skip = process.getuid?.() !== 0 ? "needs root (containerd)" : missing.length ? `needs ${missing.join(", ")}` : false;
/** Budget from the issue: the image's uncompressed size. */
const MAX_BYTES = 200e6;

describe("Causeway's image (npm run image)", { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), "cw-image-test-"));
  const ns = `cwimg-${process.pid}`;
  const sock = join(dir, "containerd.sock");
  const archive = join(dir, "causeway.tar");
  let containerd: ChildProcess | undefined;
  const ctr = (...args: string[]) => spawnSync("ctr", ["-a", sock, "-n", "cwtest", ...args], { encoding: "utf8", timeout: 120_000 });
  let run = 0;
  /** Runs `argv` in a fresh container of the image; its result. */
  const inImage = (...argv: string[]) => ctr("run", "--rm", qualifiedRef(IMAGE), `cwimg-${process.pid}-${run++}`, ...argv);

  before(async () => {
    const built = spawnSync(process.execPath, ["scripts/image.ts", "--out", archive], { cwd: REPO, encoding: "utf8", timeout: 600_000 });
    assert.equal(built.status, 0, built.stdout + built.stderr);
    execFileSync("ip", ["netns", "add", ns]);
    const config = join(dir, "containerd.toml");
    writeFileSync(
      config,
      [
        "version = 2",
        `root = "${join(dir, "root")}"`,
        `state = "${join(dir, "state")}"`,
        `disabled_plugins = ["io.containerd.grpc.v1.cri"]`,
        "[grpc]",
        `  address = "${sock}"`,
        "[ttrpc]",
        `  address = "${sock}.ttrpc"`,
      ].join("\n"),
    );
    // nsenter, not ip netns exec: that remounts /sys, hiding the cgroup mounts runc needs.
    containerd = spawn("nsenter", [`--net=/var/run/netns/${ns}`, "containerd", "--config", config], { stdio: ["ignore", "ignore", "pipe"] });
    let log = "";
    containerd.stderr?.on("data", (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
    for (let i = 0; i < 100 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(existsSync(sock), `containerd did not start: ${log}`);
  });

  after(() => {
    containerd?.kill("SIGTERM");
    spawnSync("sh", ["-c", `for p in $(ip netns pids ${ns} 2>/dev/null); do kill -9 $p; done`]);
    spawnSync("ip", ["netns", "delete", ns]);
    spawnSync("sh", ["-c", `grep -o " ${dir}[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l`]);
    rmSync(dir, { recursive: true, force: true });
    // runc's state for the test's containerd namespace (the shim's default runc root).
    rmSync("/run/containerd/runc/cwtest", { recursive: true, force: true });
  });

  it(`is at most ${MAX_BYTES / 1e6} MB, and holds the bundles and Node, not sources, dev dependencies, tests or the lab`, () => {
    const out = join(dir, "unpacked");
    mkdirSync(out);
    execFileSync("tar", ["-xf", archive, "-C", out]);
    const docker = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8")) as { Layers: string[]; RepoTags: string[] }[];
    assert.deepEqual(docker[0]?.RepoTags, [IMAGE]);
    const layers = docker[0]?.Layers ?? [];
    let bytes = 0;
    const entries: string[] = [];
    for (const l of layers) {
      bytes += readFileSync(join(out, l)).length;
      entries.push(...execFileSync("tar", ["-tf", join(out, l)], { encoding: "utf8", maxBuffer: 64e6 }).split("\n"));
    }
    assert.ok(bytes <= MAX_BYTES, `${(bytes / 1e6).toFixed(1)} MB`);
    for (const name of Object.keys(IMAGE_BUNDLES)) assert.ok(entries.includes(`./app/${name}.mjs`), `/app/${name}.mjs`);
    assert.ok(entries.includes("./usr/local/bin/node"));
    const unwanted = entries.filter((e) =>
      /\.ts$|\/node_modules\/|^\.\/app\/(e2e|lab|src)\/|\.test\.|\/usr\/share\/(doc\/[^/]+\/(?!copyright$)[^/]+$|man\/.+[^/]$|locale\/.+[^/]$)/.test(e),
    );
    assert.deepEqual(unwanted, []);
  });

  it("imports into containerd and runs: the CLI answers, each program's bundle loads, the tools are there", () => {
    const imported = ctr("images", "import", archive);
    assert.equal(imported.status, 0, imported.stderr);
    assert.match(ctr("images", "ls", "-q").stdout, new RegExp(qualifiedRef(IMAGE).replace(/\./g, "\\.")));
    const version = inImage("/usr/local/bin/causeway", "version");
    assert.equal(version.status, 0, version.stderr);
    assert.match(version.stdout, /^causeway 0\.1\.0 \(node 24\./);
    // The lab is not in the image: its commands say where they run.
    const lab = inImage("/usr/local/bin/causeway", "lab", "status");
    assert.equal(lab.status, 2, lab.stdout + lab.stderr);
    assert.match(lab.stderr, /lab commands run from a checkout of the Causeway repository/);
    // Each component starts far enough to refuse a flag it does not know (its whole module graph loaded).
    for (const name of ["broker", "gateway", "route-agent", "lighthouse"]) {
      const r = inImage("/usr/local/bin/node", `/app/${name}.mjs`, "--no-such-flag");
      assert.equal(r.status, 2, `${name}: ${r.stdout}${r.stderr}`);
      assert.match(r.stdout + r.stderr, /unknown flag --no-such-flag/, name);
    }
    const tools = inImage(
      "/bin/sh",
      "-c",
      "ip -V && nft --version && iptables --version && wg --version && wireguard-go --version && conntrack --version && ping -V",
    );
    assert.equal(tools.status, 0, tools.stdout + tools.stderr);
    assert.match(tools.stdout, /iproute2[\s\S]*nftables v1[\s\S]*iptables v1[\s\S]*wireguard-tools[\s\S]*wireguard-go[\s\S]*conntrack[\s\S]*ping from iputils/);
    // The wireguard-go built from its module at the lab's release (IMAGE_BUILT), not Debian's 2022 one.
    const wg = inImage("/bin/sh", "-c", "command -v wireguard-go && wireguard-go --version");
    assert.match(wg.stdout, /^\/usr\/local\/bin\/wireguard-go\n[\s\S]*wireguard-go v0\.0\.2025\d{4}/, wg.stdout + wg.stderr);
  });
});
