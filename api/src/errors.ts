/**
 * Typed errors shared by the broker and its clients. The broker maps each to a gRPC status;
 * clients map the status back, so callers branch on instanceof, never on message text.
 */

/** The message of anything thrown: an Error's message, else its string form. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return typeof err === "string" ? err : (JSON.stringify(err) ?? String(err));
}

export class CausewayError extends Error {
  override name = "CausewayError";
}

/** A record or request failed validation; `issues` lists each problem with its path. */
export class ValidationError extends CausewayError {
  override name = "ValidationError";
  readonly issues: readonly string[];
  constructor(message: string, issues: readonly string[] = [], options?: ErrorOptions) {
    super(issues.length ? `${message}: ${issues.join("; ")}` : message, options);
    this.issues = issues;
  }
}

/** No credential, or a credential the broker does not know. */
export class UnauthenticatedError extends CausewayError {
  override name = "UnauthenticatedError";
}

/** A known caller asked for something its role does not allow (e.g. writing another cluster's records). */
export class PermissionDeniedError extends CausewayError {
  override name = "PermissionDeniedError";
}

/** Compare-and-set failed: the record changed since the caller read it. */
export class ConflictError extends CausewayError {
  override name = "ConflictError";
}

export class AlreadyExistsError extends CausewayError {
  override name = "AlreadyExistsError";
}

export class NotFoundError extends CausewayError {
  override name = "NotFoundError";
}

/** A cluster's CIDRs overlap an existing member's; names both clusters and CIDRs. */
export class CidrOverlapError extends CausewayError {
  override name = "CidrOverlapError";
}

/** A watch asked for a revision older than the store still keeps: relist, then watch. */
export class CompactedError extends CausewayError {
  override name = "CompactedError";
  readonly compactedRevision: number;
  constructor(message: string, compactedRevision: number) {
    super(message);
    this.compactedRevision = compactedRevision;
  }
}

/** The broker could not be reached or the call did not complete; safe to retry. */
export class UnavailableError extends CausewayError {
  override name = "UnavailableError";
}
