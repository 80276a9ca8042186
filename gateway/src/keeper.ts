/**
 * `causeway-gateway --wireguard-keeper SOCKET`: the gateway pod's wireguard container (a native
 * sidecar) — starts wireguard-go for each device the gateway asks for and keeps it across the
 * gateway container's restarts (common/src/host/wgkeeper.ts says why). Exits 2 naming what is
 * missing when it cannot run wireguard-go here.
 */
import { existsSync } from "node:fs";
import { createLogger, host } from "@causeway/common";

/** How long a stopping keeper waits for the gateway to remove its devices (the pod's grace is 30 s; the gateway stops first). */
export const KEEPER_STOP_GRACE_MS = 20_000;

export async function runKeeper(socket: string | undefined): Promise<void> {
  const log = createLogger("causeway-wireguard-keeper", { node: process.env.NODE_NAME ?? "" });
  const wireguardGo = process.env.CAUSEWAY_WIREGUARD_GO || "wireguard-go";
  const missing = !socket
    ? "--wireguard-keeper needs the socket path to listen on"
    : !host.onPath(wireguardGo) && !existsSync(wireguardGo)
      ? `${wireguardGo} is not installed here: the WireGuard keeper runs it for each cable device`
      : !existsSync("/dev/net/tun")
        ? "/dev/net/tun is missing: mount the node's TUN device into the wireguard container (causeway join does)"
        : undefined;
  if (missing || !socket) {
    log.fatal(missing);
    process.exit(2);
  }
  const keeper = new host.WireGuardKeeper({ socket, wireguardGo, log });
  await keeper.listen();
  log.info({ socket, wireguardGo }, "WireGuard keeper listening");
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, devices: keeper.running() }, "stopping: waiting for the gateway to remove its devices");
    void keeper.close(KEEPER_STOP_GRACE_MS).then(() => {
      log.info("stopped");
      process.exit(0);
    });
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}
