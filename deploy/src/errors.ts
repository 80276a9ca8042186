import { CausewayError } from "@causeway/api";

/** Deploying, joining or uninstalling could not finish (a tool failed, the cluster did not get there in time); the message says what to do. Exit 1. */
export class DeployError extends CausewayError {
  override name = "DeployError";
}
