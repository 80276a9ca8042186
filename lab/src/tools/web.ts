#!/usr/bin/env node
/**
 * A lab service's pod: a small HTTP server on --port answering every request with
 * "<cluster>/<pod>\n" (which cluster and pod served it), for `causeway lab service add`; GET
 * /client answers the address the request came from (what source a translated path left). UDP
 * on the same port echoes each datagram (failover probes to a pod's own address).
 */
import { createSocket } from "node:dgram";
import { createServer } from "node:http";
import { parseArgs } from "node:util";

const { values } = parseArgs({ options: { port: { type: "string", default: "80" }, name: { type: "string", default: "web" } } });
const body = `${values.name}\n`;
const server = createServer((req, res) => {
  const text = req.url === "/client" ? `${(req.socket.remoteAddress ?? "").replace(/^::ffff:/, "")}\n` : body;
  res.writeHead(200, { "content-type": "text/plain", "content-length": Buffer.byteLength(text) });
  res.end(text);
});
server.listen(Number(values.port), "0.0.0.0");
const udp = createSocket("udp4");
udp.on("message", (msg, from) => udp.send(msg, from.port, from.address));
udp.on("error", () => undefined);
udp.bind(Number(values.port), "0.0.0.0");
for (const sig of ["SIGTERM", "SIGINT"] as const) process.on(sig, () => server.close(() => process.exit(0)));
