#!/usr/bin/env node
/**
 * A lab DNS client: resolves --name (--type A, the default; AAAA, SRV, TXT or PTR — for PTR
 * --name is the address) at --server, or at the pod's own nameserver (its resolv.conf: the
 * cluster's CoreDNS) when none is given; prints the answers as JSON (A/AAAA/PTR: strings, SRV:
 * {name, port, priority, weight}, TXT: each record's strings joined), or the error code. With
 * --until-gone MS it asks again every 20 ms until the name is gone (NXDOMAIN) and prints
 * {"goneAt": <ms since the epoch>}, or {"error": "still answering"} after MS.
 */
import { Resolver } from "node:dns/promises";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: { server: { type: "string" }, name: { type: "string" }, type: { type: "string", default: "A" }, "until-gone": { type: "string" } },
});
const QUERIES: Record<string, (r: Resolver, name: string) => Promise<unknown[]>> = {
  A: (r, n) => r.resolve4(n),
  AAAA: (r, n) => r.resolve6(n),
  SRV: async (r, n) => (await r.resolveSrv(n)).map(({ name, port, priority, weight }) => ({ name, port, priority, weight })),
  TXT: async (r, n) => (await r.resolveTxt(n)).map((chunks) => chunks.join("")),
  PTR: (r, n) => r.reverse(n),
};
const query = QUERIES[values.type.toUpperCase()];
if (!values.name || !query) {
  console.error(`usage: dig.ts --name NAME [--type ${Object.keys(QUERIES).join("|")}] [--server IP]`);
  process.exit(2);
}
const r = new Resolver({ timeout: 1000, tries: 2 });
if (values.server) r.setServers([values.server]);
const code = (err: unknown) => (err as NodeJS.ErrnoException).code ?? String(err);
if (values["until-gone"]) {
  const end = Date.now() + Number(values["until-gone"]);
  let out: object = { error: "still answering" };
  while (Date.now() < end) {
    const gone = await query(r, values.name).then(
      () => false,
      (err: unknown) => code(err) === "ENOTFOUND",
    );
    if (gone) {
      out = { goneAt: Date.now() };
      break;
    }
    await new Promise((res) => setTimeout(res, 20));
  }
  console.log(JSON.stringify(out));
} else {
  try {
    console.log(JSON.stringify(await query(r, values.name)));
  } catch (err) {
    console.log(JSON.stringify({ error: code(err) }));
  }
}
