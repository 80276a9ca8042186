import { CausewayError } from "@causeway/api";

/** The broker's store could not be opened or its server process started; the message says what to check. Exit 1. */
export class BrokerStartError extends CausewayError {
  override name = "BrokerStartError";
}
