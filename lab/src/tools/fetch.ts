#!/usr/bin/env node
/**
 * The lab's bulk HTTP client: GET --url, count the body's bytes; prints
 * "fetched <bytes> bytes in <ms> ms" and exits 0 when exactly --expect bytes arrived (1 otherwise).
 */
import { parseArgs } from "node:util";

const { values } = parseArgs({ options: { url: { type: "string" }, expect: { type: "string" }, timeout: { type: "string", default: "120000" } } });
const started = performance.now();
try {
  const res = await fetch(values.url ?? "", { signal: AbortSignal.timeout(Number(values.timeout)) });
  let bytes = 0;
  for await (const part of res.body ?? []) bytes += (part as Uint8Array).length;
  const ms = Math.round(performance.now() - started);
  console.log(`fetched ${bytes} bytes in ${ms} ms (HTTP ${res.status})`);
  process.exit(res.ok && (values.expect === undefined || bytes === Number(values.expect)) ? 0 : 1);
} catch (err) {
  console.log(`error ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
