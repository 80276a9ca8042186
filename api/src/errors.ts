/**
 * Typed errors shared by the broker and its clients. The broker maps each to a gRPC status;
 * clients map the status back, so callers branch on instanceof, never on message text.
 */

/** The message of anything thrown: an Error's message, else its string form. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return typeof err === "string" ? err : (JSON.stringify(err) ?? String(err));
}

/** What the CLI (and a component that cannot start) exits with: 2 = refused input (usage, configuration, a request the other side refused), 1 = a failure. */
export type ExitCode = 1 | 2;

/**
 * Every product error. `exitCode` says how a command that ends with it exits: 2 when the input
 * was refused (the message says what to change), 1 when something failed that the input did not cause.
 */
export class CausewayError extends Error {
  override name = "CausewayError";
  readonly exitCode: ExitCode = 1;
}

/** A record or request failed validation; `issues` lists each problem with its path. */
export class ValidationError extends CausewayError {
  override name = "ValidationError";
  override readonly exitCode = 2;
  readonly issues: readonly string[];
  constructor(message: string, issues: readonly string[] = [], options?: ErrorOptions) {
    super(issues.length ? `${message}: ${issues.join("; ")}` : message, options);
    this.issues = issues;
  }
}

/** No credential, or a credential the broker does not know. */
export class UnauthenticatedError extends CausewayError {
  override name = "UnauthenticatedError";
  override readonly exitCode = 2;
}

/** A known caller asked for something its role does not allow (e.g. writing another cluster's records). */
export class PermissionDeniedError extends CausewayError {
  override name = "PermissionDeniedError";
  override readonly exitCode = 2;
}

/** Compare-and-set failed: the record changed since the caller read it. */
export class ConflictError extends CausewayError {
  override name = "ConflictError";
}

export class AlreadyExistsError extends CausewayError {
  override name = "AlreadyExistsError";
  override readonly exitCode = 2;
}

export class NotFoundError extends CausewayError {
  override name = "NotFoundError";
  override readonly exitCode = 2;
}

/** A cluster's CIDRs overlap an existing member's; names both clusters and CIDRs. */
export class CidrOverlapError extends CausewayError {
  override name = "CidrOverlapError";
  override readonly exitCode = 2;
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
