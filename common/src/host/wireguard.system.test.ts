/** The WireGuard contract against a real device (kernel module or wireguard-go) in a network namespace (root). */
import { NetnsRunner, ProcessRunner } from "../exec/index.ts";
import { wireGuardContract } from "./wireguard-contract.ts";
import { onPath, WgTools } from "./wireguard.ts";
const canRun = process.getuid?.() === 0 && onPath("wg") && onPath("wireguard-go");
wireGuardContract(
  "real device (netns, kernel or wireguard-go)",
  async () => {
    const base = new ProcessRunner();
    const ns = `cwtest-wg-${process.pid}`;
    await base.run("ip", ["netns", "add", ns]);
    return {
      wg: new WgTools(new NetnsRunner(base, ns)),
      name: `cwwgt${process.pid % 100000}`,
      // The UDP socket's inode (wireguard-go's; a kernel device's socket has none of its own: ino 0).
      socket: async (port) => {
        const r = await base.run("ip", ["netns", "exec", ns, "ss", "-H", "-u", "-a", "-n", "-e", `sport = :${port}`]);
        return [...r.stdout.matchAll(/ino:(\d+)/g)].map((m) => m[1]).join(",");
      },
      async close() {
        // wireguard-go goes with its device (removed by the contract); nothing may outlive the namespace.
        for (const pid of (await base.run("ip", ["netns", "pids", ns], { allowFailure: true })).stdout.split(/\s+/).filter(Boolean))
          process.kill(Number(pid), "SIGKILL");
        await base.run("ip", ["netns", "del", ns], { allowFailure: true });
      },
    };
  },
  canRun ? undefined : "needs root, wireguard-tools and wireguard-go",
);
