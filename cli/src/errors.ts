import { CausewayError } from "@causeway/api";

/** A verify or diagnose check did not hold; the message says what was seen. Exit 1. */
export class CheckFailedError extends CausewayError {
  override name = "CheckFailedError";
}
