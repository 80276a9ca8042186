import { CausewayError } from "@causeway/api";

/** A public-IP resolver gave no usable answer (the next one is tried). Exit 1. */
export class PublicIpError extends CausewayError {
  override name = "PublicIpError";
}

/** A cable driver could not make the host carry the cables (retried at the next pass). Exit 1. */
export class CableDriverError extends CausewayError {
  override name = "CableDriverError";
}

/** The globalnet translation table could not be written (retried at the next pass). Exit 1. */
export class TranslationError extends CausewayError {
  override name = "TranslationError";
}
