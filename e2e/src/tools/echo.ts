#!/usr/bin/env node
/**
 * The lab's test server, run in each pod: answers every TCP connection with
 * "<name> sees <client ip>:<port>" and then echoes whatever it receives.
 */
import { createServer } from "node:net";
import { parseArgs } from "node:util";

const { values } = parseArgs({ options: { port: { type: "string", default: "8080" }, name: { type: "string", default: "echo" } } });
const server = createServer((sock) => {
  sock.write(`${values.name} sees ${sock.remoteAddress?.replace(/^::ffff:/, "")}:${sock.remotePort}\n`);
  sock.on("data", (d) => sock.write(d));
  sock.on("error", () => sock.destroy());
});
server.listen(Number(values.port), "0.0.0.0");
process.once("SIGTERM", () => server.close(() => process.exit(0)));
