#!/usr/bin/env node
/**
 * The lab's test server, run in each pod: answers every TCP connection on --port with
 * "<name> sees <client ip>:<port>" and then echoes whatever it receives; and serves HTTP on
 * --port + 1, where GET /bytes/<n> returns n bytes of a fixed, recognisable text (for bulk
 * transfers and for looking for cleartext in captures). UDP on --port echoes each datagram (the
 * failover probes' responder).
 */
import { createSocket } from "node:dgram";
import { createServer as createHttpServer } from "node:http";
import { createServer } from "node:net";
import { parseArgs } from "node:util";

/** What /bytes/<n> repeats: cleartext that a capture of an encrypted cable must never show. */
export const BULK_PATTERN = "CAUSEWAY-CLEARTEXT-MARKER-0123456789-";

const { values } = parseArgs({ options: { port: { type: "string", default: "8080" }, name: { type: "string", default: "echo" } } });
const server = createServer((sock) => {
  sock.write(`${values.name} sees ${sock.remoteAddress?.replace(/^::ffff:/, "")}:${sock.remotePort}\n`);
  sock.on("data", (d) => sock.write(d));
  sock.on("error", () => sock.destroy());
});
server.listen(Number(values.port), "0.0.0.0");
const udp = createSocket("udp4");
udp.on("message", (msg, from) => udp.send(msg, from.port, from.address));
udp.on("error", () => undefined);
udp.bind(Number(values.port), "0.0.0.0");

const chunk = Buffer.from(BULK_PATTERN.repeat(Math.ceil(65536 / BULK_PATTERN.length)));
const http = createHttpServer((req, res) => {
  const n = Number(/^\/bytes\/(\d+)$/.exec(req.url ?? "")?.[1] ?? Number.NaN);
  if (!Number.isSafeInteger(n) || n < 0 || n > 10 * 1024 ** 3) {
    res.writeHead(404).end("GET /bytes/<n>\n");
    return;
  }
  res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(n) });
  let left = n;
  const pump = () => {
    while (left > 0) {
      const part = chunk.subarray(0, Math.min(left, chunk.length));
      left -= part.length;
      if (!res.write(part)) {
        res.once("drain", pump);
        return;
      }
    }
    res.end();
  };
  pump();
});
http.listen(Number(values.port) + 1, "0.0.0.0");
process.once("SIGTERM", () => {
  http.close();
  udp.close();
  server.close(() => process.exit(0));
});
