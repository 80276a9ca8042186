#!/usr/bin/env node
/**
 * The lab's test client: connects to --host:--port, prints the server's greeting line and exits 0,
 * or exits 1 after --timeout ms. With --stream N it then sends a byte every --interval ms for N
 * ms and prints "stream ok <sent> <echoed> maxgap <ms>" (exit 0 only if every byte came back).
 */
import { connect } from "node:net";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    host: { type: "string" },
    port: { type: "string", default: "8080" },
    timeout: { type: "string", default: "3000" },
    stream: { type: "string", default: "0" },
    interval: { type: "string", default: "50" },
  },
});
const timeout = Number(values.timeout);
const streamMs = Number(values.stream);
const sock = connect({ host: values.host ?? "", port: Number(values.port) });
const fail = (why: string) => {
  console.log(`error ${why}`);
  process.exit(1);
};
const timer = setTimeout(() => fail("timeout"), timeout);
let greeting = "";
let sent = 0;
let echoed = 0;
let lastEcho = Date.now();
let maxGap = 0;
sock.on("error", (e) => fail(e.message));
sock.on("data", (d) => {
  if (!greeting) {
    greeting = d.toString().split("\n")[0] ?? "";
    console.log(greeting);
    clearTimeout(timer);
    if (!streamMs) {
      sock.end();
      process.exit(0);
    }
    const started = Date.now();
    const tick = setInterval(() => {
      if (Date.now() - started >= streamMs) {
        clearInterval(tick);
        setTimeout(() => {
          console.log(`stream ${echoed === sent ? "ok" : "lost"} ${sent} ${echoed} maxgap ${maxGap}`);
          process.exit(echoed === sent ? 0 : 1);
        }, 2000);
        return;
      }
      sock.write("x");
      sent++;
    }, Number(values.interval));
    return;
  }
  const now = Date.now();
  maxGap = Math.max(maxGap, now - lastEcho);
  lastEcho = now;
  echoed += d.length;
});
