#!/usr/bin/env node
/**
 * The lab's HTTP client for scenarios: GET http://--host:--port--path (a name resolved through
 * the pod's resolv.conf, or an IP) and print {"status":200,"body":"c1/web-0"} or {"error":"…"};
 * exit 0 on HTTP 200. A lab service's /client answers the address it saw the request from.
 */
import { request } from "node:http";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    host: { type: "string" },
    port: { type: "string", default: "80" },
    path: { type: "string", default: "/" },
    timeout: { type: "string", default: "3000" },
  },
});
const req = request({ host: values.host, port: Number(values.port), path: values.path, timeout: Number(values.timeout), family: 4 }, (res) => {
  let body = "";
  res.setEncoding("utf8");
  res.on("data", (d: string) => (body += d));
  res.on("end", () => {
    console.log(JSON.stringify({ status: res.statusCode, body: body.trim() }));
    process.exit(res.statusCode === 200 ? 0 : 1);
  });
});
req.on("timeout", () => req.destroy(new Error(`no answer within ${values.timeout} ms`)));
req.on("error", (err: NodeJS.ErrnoException) => {
  console.log(JSON.stringify({ error: err.code ?? err.message }));
  process.exit(1);
});
req.end();
