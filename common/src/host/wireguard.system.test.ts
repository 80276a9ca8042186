/**
 * The WireGuard contract against a real device (kernel module or wireguard-go) in a network
 * namespace (root); and again with wireguard-go started by a WireGuard keeper (wgkeeper.ts), as
 * the gateway pod's keeper container does.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "../log.ts";
import { NetnsRunner, ProcessRunner } from "../exec/index.ts";
import { wireGuardContract, type WgFixture } from "./wireguard-contract.ts";
import { onPath, WgTools } from "./wireguard.ts";
import { WireGuardKeeper } from "./wgkeeper.ts";

const canRun = process.getuid?.() === 0 && onPath("wg") && onPath("wireguard-go");

/** A namespace of its own; `keeper`: wireguard-go is started by a keeper (in that namespace) instead of by WgTools. */
async function realDevice(keeper: boolean): Promise<WgFixture> {
  const base = new ProcessRunner();
  const ns = `cwtest-wg${keeper ? "k" : ""}-${process.pid}`;
  await base.run("ip", ["netns", "add", ns]);
  let k: WireGuardKeeper | undefined;
  let dir: string | undefined;
  if (keeper) {
    dir = mkdtempSync(join(tmpdir(), "cw-wgk-"));
    // The keeper's wireguard-go, in the test's namespace (a keeper container shares its node's network).
    const wrapper = join(dir, "wireguard-go");
    writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${ns} ${process.env.CAUSEWAY_WIREGUARD_GO || "wireguard-go"} "$@"\n`);
    chmodSync(wrapper, 0o755);
    k = new WireGuardKeeper({
      socket: join(dir, "keeper.sock"),
      wireguardGo: wrapper,
      linkExists: (n) => {
        try {
          execFileSync("ip", ["-n", ns, "link", "show", "dev", n], { stdio: "ignore" });
          return true;
        } catch {
          return false;
        }
      },
      log: silentLogger(),
    });
    await k.listen();
  }
  return {
    wg: new WgTools(new NetnsRunner(base, ns), undefined, undefined, undefined, k && dir ? join(dir, "keeper.sock") : undefined),
    name: `cwwg${keeper ? "k" : "t"}${process.pid % 100000}`,
    // The UDP socket's inode (wireguard-go's; a kernel device's socket has none of its own: ino 0).
    socket: async (port) => {
      const r = await base.run("ip", ["netns", "exec", ns, "ss", "-H", "-u", "-a", "-n", "-e", `sport = :${port}`]);
      return [...r.stdout.matchAll(/ino:(\d+)/g)].map((m) => m[1]).join(",");
    },
    async close() {
      await k?.close(200);
      if (dir) rmSync(dir, { recursive: true, force: true });
      // wireguard-go goes with its device (removed by the contract); nothing may outlive the namespace.
      for (const pid of (await base.run("ip", ["netns", "pids", ns], { allowFailure: true })).stdout.split(/\s+/).filter(Boolean))
        process.kill(Number(pid), "SIGKILL");
      await base.run("ip", ["netns", "del", ns], { allowFailure: true });
    },
  };
}

wireGuardContract("real device (netns, kernel or wireguard-go)", () => realDevice(false), canRun ? undefined : "needs root, wireguard-tools and wireguard-go");
wireGuardContract(
  "real device, wireguard-go started by a WireGuard keeper",
  () => realDevice(true),
  canRun ? undefined : "needs root, wireguard-tools and wireguard-go",
);
