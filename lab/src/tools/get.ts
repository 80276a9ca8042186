#!/usr/bin/env node
/**
 * The lab's HTTP client for scenarios: GET http://--host:--port--path (a name resolved through
 * the pod's resolv.conf, or an IP) and print {"status":200,"body":"c1/web-0"} or {"error":"…"};
 * exit 0 on HTTP 200. A lab service's /client answers the address it saw the request from.
 * With --until-body RE --within MS it asks again every 50 ms (each request with --timeout, 500 ms
 * then by default) until a body matches RE, and prints {"matchedAt": <ms since the epoch>,
 * "body": …} — the moment a client would first see the change — or {"error": "…"} after MS.
 */
import { request } from "node:http";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    host: { type: "string" },
    port: { type: "string", default: "80" },
    path: { type: "string", default: "/" },
    timeout: { type: "string" },
    "until-body": { type: "string" },
    within: { type: "string", default: "20000" },
  },
});
const until = values["until-body"] === undefined ? undefined : new RegExp(values["until-body"]);
const timeout = Number(values.timeout ?? (until ? 500 : 3000));

/** One GET: the status and body, or the error. */
function get(): Promise<{ status?: number; body?: string; error?: string }> {
  return new Promise((resolve) => {
    const req = request({ host: values.host, port: Number(values.port), path: values.path, timeout, family: 4, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode, body: body.trim() }));
      res.on("error", (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
    });
    req.on("timeout", () => req.destroy(new Error(`no answer within ${timeout} ms`)));
    req.on("error", (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
    req.end();
  });
}

if (until) {
  const end = Date.now() + Number(values.within);
  let last: object = {};
  let out: object | undefined;
  while (!out && Date.now() < end) {
    const r = await get();
    if (r.status === 200 && until.test(r.body ?? "")) out = { matchedAt: Date.now(), body: r.body };
    else {
      last = r;
      await new Promise((res) => setTimeout(res, 50));
    }
  }
  console.log(JSON.stringify(out ?? { error: `no body matching ${until} within ${values.within} ms; last ${JSON.stringify(last)}` }));
  process.exit(out ? 0 : 1);
} else {
  const r = await get();
  console.log(JSON.stringify(r.error ? { error: r.error } : r));
  process.exit(r.status === 200 ? 0 : 1);
}
