#!/usr/bin/env node
/** Sends --count UDP datagrams carrying --payload to --host:--port, --interval ms apart (firewall diagnosis). */
import { createSocket } from "node:dgram";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    host: { type: "string" },
    port: { type: "string" },
    count: { type: "string", default: "5" },
    interval: { type: "string", default: "100" },
    payload: { type: "string", default: "CWDG" },
  },
});
const sock = createSocket("udp4");
const msg = Buffer.from(values.payload ?? "CWDG");
for (let i = 0; i < Number(values.count); i++) {
  await new Promise<void>((resolve) => sock.send(msg, Number(values.port), values.host, () => resolve()));
  await new Promise((r) => setTimeout(r, Number(values.interval)));
}
sock.close();
