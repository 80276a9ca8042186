import { Metadata, type ServiceError, status } from "@grpc/grpc-js";
import {
  AlreadyExistsError,
  CausewayError,
  CidrOverlapError,
  CompactedError,
  ConflictError,
  NotFoundError,
  PermissionDeniedError,
  UnauthenticatedError,
  UnavailableError,
  ValidationError,
} from "./errors.ts";

const ERROR_TYPE_KEY = "causeway-error";

/** Converts one of our errors into a gRPC ServiceError (server side). Unknown errors become INTERNAL. */
export function toServiceError(err: unknown): Partial<ServiceError> {
  const md = new Metadata();
  const e = err instanceof Error ? err : new Error(String(err));
  md.set(ERROR_TYPE_KEY, e.name);
  if (e instanceof CompactedError) md.set("causeway-compacted-revision", String(e.compactedRevision));
  return { code: codeOf(e), details: e.message, metadata: md };
}

function codeOf(e: Error): status {
  if (e instanceof ValidationError) return status.INVALID_ARGUMENT;
  if (e instanceof UnauthenticatedError) return status.UNAUTHENTICATED;
  if (e instanceof PermissionDeniedError) return status.PERMISSION_DENIED;
  if (e instanceof ConflictError) return status.ABORTED;
  if (e instanceof AlreadyExistsError) return status.ALREADY_EXISTS;
  if (e instanceof NotFoundError) return status.NOT_FOUND;
  if (e instanceof CidrOverlapError) return status.FAILED_PRECONDITION;
  if (e instanceof CompactedError) return status.OUT_OF_RANGE;
  if (e instanceof UnavailableError) return status.UNAVAILABLE;
  return status.INTERNAL;
}

function isServiceError(err: unknown): err is ServiceError {
  return err instanceof Error && typeof (err as Partial<ServiceError>).code === "number";
}

/** Converts a gRPC client error back into our typed error (client side), keeping it as `cause`. */
export function fromServiceError(err: unknown): CausewayError {
  if (!isServiceError(err)) return new CausewayError(String(err), { cause: err });
  const kind = err.metadata?.get(ERROR_TYPE_KEY)[0]?.toString();
  const msg = err.details || err.message;
  const opts = { cause: err };
  switch (kind ?? codeName(err.code)) {
    case "ValidationError":
      return new ValidationError(msg, [], opts);
    case "UnauthenticatedError":
      return new UnauthenticatedError(msg, opts);
    case "PermissionDeniedError":
      return new PermissionDeniedError(msg, opts);
    case "ConflictError":
      return new ConflictError(msg, opts);
    case "AlreadyExistsError":
      return new AlreadyExistsError(msg, opts);
    case "NotFoundError":
      return new NotFoundError(msg, opts);
    case "CidrOverlapError":
      return new CidrOverlapError(msg, opts);
    case "CompactedError":
      return new CompactedError(msg, Number(err.metadata?.get("causeway-compacted-revision")[0] ?? 0));
    case "UnavailableError":
      return new UnavailableError(msg, opts);
    default:
      return new CausewayError(msg, opts);
  }
}

function codeName(code: status): string {
  switch (code) {
    case status.UNAVAILABLE:
    case status.DEADLINE_EXCEEDED:
    case status.CANCELLED:
      return "UnavailableError";
    case status.UNAUTHENTICATED:
      return "UnauthenticatedError";
    case status.PERMISSION_DENIED:
      return "PermissionDeniedError";
    default:
      return "CausewayError";
  }
}
