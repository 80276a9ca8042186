import { CausewayError } from "@causeway/api";
import { kube } from "@causeway/common";
import { stringify as toYaml } from "yaml";
import type { Manifest } from "./manifests.ts";

export const CLI_FIELD_MANAGER = "causeway-cli";

/** The identity lacks permissions the apply needs; nothing was applied. */
export class MissingPermissionsError extends CausewayError {
  override name = "MissingPermissionsError";
  /** Refused input: the message says which flag or permission to give. Exit 2. */
  override readonly exitCode = 2;
  readonly missing: readonly string[];
  constructor(context: string, missing: readonly string[]) {
    super(`the credential of context "${context}" lacks ${missing.length} permission(s) Causeway needs, nothing was applied: ${missing.join("; ")}`);
    this.missing = missing;
  }
}

const apiVersion = (t: kube.ResourceType) => (t.group ? `${t.group}/${t.version}` : t.version);

/** The manifests as one multi-document YAML (what --dry-run prints). */
export function renderManifests(ms: readonly Manifest[]): string {
  return ms.map((x) => toYaml({ apiVersion: apiVersion(x.type), kind: x.type.kind, ...x.object })).join("---\n");
}

/**
 * Asks the API server (SelfSubjectAccessReview) whether this identity may create and patch every
 * object; throws MissingPermissionsError naming each missing one, so that nothing is half-applied.
 */
export async function preflight(client: kube.KubeClient, ms: readonly Manifest[]): Promise<void> {
  const missing = new Set<string>();
  const asked = new Set<string>();
  for (const x of ms) {
    for (const verb of ["create", "patch"]) {
      const attrs = { verb, group: x.type.group, resource: x.type.plural, namespace: x.type.namespaced ? x.object.metadata.namespace : undefined };
      const key = JSON.stringify(attrs);
      if (asked.has(key)) continue;
      asked.add(key);
      const res = await client.create<{ status?: { allowed?: boolean } }>(kube.R.selfSubjectAccessReview, {
        metadata: { name: "" },
        ...{ spec: { resourceAttributes: attrs } },
      });
      if (!res.status?.allowed) {
        missing.add(
          kube.permissionOf({
            method: verb === "create" ? "POST" : "PATCH",
            path: kube.resourcePath(x.type, attrs.namespace, verb === "patch" ? "x" : undefined),
          }),
        );
      }
    }
  }
  if (missing.size) throw new MissingPermissionsError(client.context, [...missing]);
}

/** An apply stopped by the user (Ctrl-C) between two objects: what was applied, and that re-running completes it. */
export class ApplyInterruptedError extends CausewayError {
  override name = "ApplyInterruptedError";
  readonly applied: readonly string[];

  constructor(applied: readonly string[], total: number) {
    super(
      `interrupted after applying ${applied.length} of ${total} objects${applied.length ? ` (${applied.join(", ")})` : ""}; run the same command again to complete it (applying is idempotent)`,
    );
    this.applied = applied;
  }
}

/**
 * Server-side applies each manifest in order; returns how many objects changed (resourceVersion
 * moved or created). With `signal`, stops between two objects once aborted (ApplyInterruptedError).
 */
export async function applyManifests(
  client: kube.KubeClient,
  ms: readonly Manifest[],
  o: { dryRun?: boolean; signal?: AbortSignal | undefined } = {},
): Promise<{ changed: string[] }> {
  const changed: string[] = [];
  const applied: string[] = [];
  for (const x of ms) {
    if (o.signal?.aborted) throw new ApplyInterruptedError(applied, ms.length);
    const before = await client.find<Record<string, unknown>>(x.type, x.object.metadata.namespace, x.object.metadata.name);
    const after = await client.apply<Record<string, unknown>>(x.type, x.object, { fieldManager: CLI_FIELD_MANAGER, dryRun: o.dryRun });
    // Changed = the object's content moved (the server may bump resourceVersion for bookkeeping alone, e.g. a PVC's managed fields once after creation).
    if (!before || contentOf(before) !== contentOf(after)) changed.push(`${x.type.kind}/${x.object.metadata.name}`);
    applied.push(`${x.type.kind}/${x.object.metadata.name}`);
  }
  return { changed };
}

/** Pure: what an apply sets, as JSON: the object without its status and the server's bookkeeping (resourceVersion, managedFields, generation). */
function contentOf(o: Record<string, unknown>): string {
  const { resourceVersion: _rv, managedFields: _mf, generation: _g, ...meta } = (o.metadata ?? {}) as Record<string, unknown>;
  const { status: _s, ...rest } = o;
  return JSON.stringify({ ...rest, metadata: meta });
}

/** Waits until every CRD among the manifests is Established (bounded). */
export async function waitCrdsEstablished(client: kube.KubeClient, ms: readonly Manifest[], timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (const x of ms.filter((y) => y.type === kube.R.crd)) {
    for (;;) {
      const crd = await client.get<{ status?: { conditions?: { type: string; status: string }[] } }>(kube.R.crd, undefined, x.object.metadata.name);
      if (crd.status?.conditions?.some((c) => c.type === "Established" && c.status === "True")) break;
      if (Date.now() > end) throw new CausewayError(`CRD ${x.object.metadata.name} not established within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
