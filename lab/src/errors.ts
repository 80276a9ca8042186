import { CausewayError } from "@causeway/api";

/** The lab could not do what was asked (a process exited, a wait ran out); the message says where to look. Exit 1. */
export class LabError extends CausewayError {
  override name = "LabError";
}
