#!/usr/bin/env node
/**
 * The lab's bulk HTTP client: GET --url, count the body's bytes; prints
 * "fetched <bytes> bytes in <ms> ms" and exits 0 when exactly --expect bytes arrived (1 otherwise).
 */
import { parseArgs } from "node:util";

const { values } = parseArgs({ options: { url: { type: "string" }, expect: { type: "string" }, timeout: { type: "string", default: "120000" } } });
const started = performance.now();
let bytes = 0;
// Past the time-out whatever the request is waiting for, saying how far it got (a stalled transfer
// in a CI run printed nothing in 180 s, although the abort signal should have ended it at 150 s).
setTimeout(
  () => {
    console.log(`error no end after ${values.timeout} ms: ${bytes} bytes arrived`);
    process.exit(1);
  },
  Number(values.timeout) + 1000,
).unref();
try {
  const res = await fetch(values.url ?? "", { signal: AbortSignal.timeout(Number(values.timeout)) });
  for await (const part of res.body ?? []) bytes += (part as Uint8Array).length;
  const ms = Math.round(performance.now() - started);
  console.log(`fetched ${bytes} bytes in ${ms} ms (HTTP ${res.status})`);
  process.exit(res.ok && (values.expect === undefined || bytes === Number(values.expect)) ? 0 : 1);
} catch (err) {
  console.log(`error ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
