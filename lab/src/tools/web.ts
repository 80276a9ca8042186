#!/usr/bin/env node
/**
 * A lab service's pod: a small HTTP server on --port answering every request with
 * "<cluster>/<pod>\n" (which cluster and pod served it), for `causeway lab service add`.
 */
import { createServer } from "node:http";
import { parseArgs } from "node:util";

const { values } = parseArgs({ options: { port: { type: "string", default: "80" }, name: { type: "string", default: "web" } } });
const body = `${values.name}\n`;
const server = createServer((_req, res) => {
  res.writeHead(200, { "content-type": "text/plain", "content-length": Buffer.byteLength(body) });
  res.end(body);
});
server.listen(Number(values.port), "0.0.0.0");
for (const sig of ["SIGTERM", "SIGINT"] as const) process.on(sig, () => server.close(() => process.exit(0)));
