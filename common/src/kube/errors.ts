/**
 * Kubernetes API failures as typed errors, converted once at the client boundary
 * (CONVENTIONS 8): callers branch on instanceof, never on status codes or message text.
 */
import { CausewayError } from "@causeway/api";

/** What a request was about, for messages that say what to fix. */
export interface KubeRequestInfo {
  readonly method: string;
  readonly path: string;
  readonly server: string;
}

/** Base class: every API failure carries the request and the HTTP status (0 when none arrived). */
export class KubeError extends CausewayError {
  /** The API server refused or could not be reached with the kubeconfig given: fix the input (context, permissions), exit 2. */
  override readonly exitCode = 2;
  override name = "KubeError";
  readonly request: KubeRequestInfo;
  readonly status: number;
  readonly reason: string;
  constructor(message: string, request: KubeRequestInfo, status: number, reason: string, options?: ErrorOptions) {
    super(message, options);
    this.request = request;
    this.status = status;
    this.reason = reason;
  }
}

/** The API server did not answer (refused, unroutable, TLS failure, timeout). Safe to retry. */
export class KubeUnreachableError extends KubeError {
  override name = "KubeUnreachableError";
}

/** 401: the credential in the kubeconfig is missing, expired or unknown to the server. */
export class KubeUnauthorizedError extends KubeError {
  override name = "KubeUnauthorizedError";
}

/** 403: the identity lacks a permission; `permission` names it as "verb resource.group in namespace". */
export class KubeForbiddenError extends KubeError {
  override name = "KubeForbiddenError";
  readonly permission: string;
  constructor(message: string, request: KubeRequestInfo, permission: string) {
    super(message, request, 403, "Forbidden");
    this.permission = permission;
  }
}

/** 404: the object, or its whole resource type (a CRD not installed), does not exist. */
export class KubeNotFoundError extends KubeError {
  override name = "KubeNotFoundError";
}

/** 409: a create found the object present, or an update carried a stale resourceVersion. */
export class KubeConflictError extends KubeError {
  override name = "KubeConflictError";
  /** True for AlreadyExists (create), false for a resourceVersion conflict (update). */
  get alreadyExists(): boolean {
    return this.reason === "AlreadyExists";
  }
}

/** 410: a watch or list asked for a resourceVersion the server no longer keeps: relist. */
export class KubeGoneError extends KubeError {
  override name = "KubeGoneError";
}

/** 422 (or 400): the server rejected the object; `causes` lists each field it objected to. */
export class KubeInvalidError extends KubeError {
  override name = "KubeInvalidError";
  readonly causes: readonly string[];
  constructor(message: string, request: KubeRequestInfo, status: number, reason: string, causes: readonly string[]) {
    super(causes.length ? `${message}: ${causes.join("; ")}` : message, request, status, reason);
    this.causes = causes;
  }
}

/** An object from the server failed our schema (e.g. a CRD of another version is installed). */
export class KubeSchemaError extends CausewayError {
  override readonly exitCode = 2;
  override name = "KubeSchemaError";
  readonly issues: readonly string[];
  constructor(message: string, issues: readonly string[]) {
    super(`${message}: ${issues.join("; ")}`);
    this.issues = issues;
  }
}

/** The kubeconfig cannot be used: missing file, unknown context, no server. */
export class KubeConfigError extends CausewayError {
  override readonly exitCode = 2;
  override name = "KubeConfigError";
}

interface StatusBody {
  kind?: string;
  message?: string;
  reason?: string;
  details?: { name?: string; group?: string; kind?: string; causes?: { field?: string; message?: string }[] };
}

/** The typed error for an HTTP error answer from the API server. */
export function kubeErrorFromResponse(req: KubeRequestInfo, status: number, body: string): KubeError {
  let s: StatusBody = {};
  try {
    s = JSON.parse(body) as StatusBody;
  } catch {
    // not a Status object (a proxy in between, say): keep the raw text
  }
  const message = s.message ?? (body.trim().slice(0, 300) || `HTTP ${status}`);
  const reason = s.reason ?? "";
  const where = `${req.method} ${req.path} on ${req.server}`;
  switch (status) {
    case 401:
      return new KubeUnauthorizedError(
        `the API server ${req.server} did not accept the credential (401 Unauthorized); check the kubeconfig's user`,
        req,
        status,
        reason,
      );
    case 403:
      return new KubeForbiddenError(`${message} (403 Forbidden on ${where}); grant this permission with a Role or ClusterRole`, req, permissionOf(req));
    case 404:
      return new KubeNotFoundError(`${message} (${where})`, req, status, reason);
    case 409:
      return new KubeConflictError(`${message} (${where})`, req, status, reason);
    case 410:
      return new KubeGoneError(`${message} (${where})`, req, status, reason);
    case 400:
    case 422: {
      const causes = (s.details?.causes ?? []).map((c) => (c.field ? `${c.field}: ${c.message ?? ""}` : (c.message ?? "")));
      return new KubeInvalidError(`${message} (${where})`, req, status, reason, causes);
    }
    default:
      return status >= 500 || status === 429
        ? new KubeUnreachableError(`${message} (${status} from ${where})`, req, status, reason)
        : new KubeError(`${message} (${status} from ${where})`, req, status, reason);
  }
}

const VERBS: Readonly<Record<string, string>> = { GET: "get", POST: "create", PUT: "update", PATCH: "patch", DELETE: "delete" };

/** "verb resource[.group] [in namespace ns]" for a request path (RBAC's own words). */
export function permissionOf(req: Pick<KubeRequestInfo, "method" | "path">): string {
  const [path = "", query = ""] = req.path.split("?");
  const { group, ns, rest } = splitPath(path);
  const resource = rest.length >= 3 ? `${rest[0]}/${rest[2]}` : (rest[0] ?? "");
  let verb = VERBS[req.method] ?? req.method.toLowerCase();
  if (req.method === "GET" && rest.length === 1) verb = /(^|&)watch=(1|true)/.test(query) ? "watch" : "list";
  const res = group ? `${resource}.${group}` : resource;
  return `${verb} ${res}${ns ? ` in namespace ${ns}` : " (cluster-wide)"}`;
}

/** /api/v1/... or /apis/<group>/<version>/..., with the namespace split off. */
function splitPath(path: string): { group: string; ns: string; rest: string[] } {
  const parts = path.split("/").filter(Boolean);
  const core = parts[0] === "api";
  let rest = parts.slice(core ? 2 : 3);
  let ns = "";
  if (rest[0] === "namespaces" && rest.length > 2) {
    ns = rest[1] ?? "";
    rest = rest.slice(2);
  }
  return { group: core ? "" : (parts[1] ?? ""), ns, rest };
}
