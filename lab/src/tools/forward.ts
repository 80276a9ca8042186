#!/usr/bin/env node
/**
 * Lab forwarder: accepts connections on a Unix socket and pipes each to host:port. Started inside
 * a lab namespace, it lets processes in the host namespace reach a lab service through the
 * filesystem, without any address or route in the host's own namespace.
 *   node forward.ts <socket-path> <host:port>
 */
import { createConnection, createServer } from "node:net";
import { rmSync } from "node:fs";

const [socketPath, target] = process.argv.slice(2);
const m = /^(.+):(\d+)$/.exec(target ?? "");
if (!socketPath || !m) {
  console.error("usage: forward.ts <socket-path> <host:port>");
  process.exit(2);
}
const [, host = "", port = ""] = m;
rmSync(socketPath, { force: true });
const server = createServer((inbound) => {
  const outbound = createConnection({ host, port: Number(port) });
  inbound.pipe(outbound).pipe(inbound);
  const end = (): void => {
    inbound.destroy();
    outbound.destroy();
  };
  inbound.on("error", end);
  outbound.on("error", end);
});
server.listen(socketPath);
for (const sig of ["SIGTERM", "SIGINT"] as const) process.once(sig, () => server.close(() => process.exit(0)));
