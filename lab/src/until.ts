import { errorMessage } from "@causeway/api";
import { LabError } from "./errors.ts";

/**
 * Polls `fn` every 200 ms until it returns something other than undefined; throws after `ms`
 * with the last error seen. Bounded in time, so a test never hangs on a condition.
 */
export async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new LabError(`${what}: not true within ${ms} ms${last ? ` (${errorMessage(last)})` : ""}`);
}
