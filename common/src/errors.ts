import { CausewayError } from "@causeway/api";

/** The host is not as an operation needs it (no route, no such device): a failure, exit 1. */
export class HostStateError extends CausewayError {
  override name = "HostStateError";
}
