/**
 * The MCS API's CRDs (ServiceExport, ServiceImport) are shared with whatever else in the cluster
 * speaks the MCS API: the upstream CRDs a platform team installed, another MCS controller's.
 * `join` installs Causeway's only where none exist or where they are Causeway's own from an older
 * release; it never downgrades them and never writes over another installer's. `uninstall`
 * removes only the ones Causeway created, and only when no MCS object is left in the cluster.
 */
import { CausewayError, type CrdDef, crdObject, MCS_CRDS, MCS_RELEASE_LABEL, MCS_REVISION_LABEL, MCS_VERSION } from "@causeway/api";
import { kube } from "@causeway/common";
import type { Manifest } from "./manifests.ts";

/** The label every object Causeway creates carries; on an MCS CRD it means Causeway installed it. */
export const PART_OF_LABEL = "app.kubernetes.io/part-of";

/** Another installer's MCS CRD lacks the version Causeway writes: join changes nothing. Exit 2. */
export class McsCrdConflictError extends CausewayError {
  override name = "McsCrdConflictError";
  override readonly exitCode = 2;
}

/** What of an existing CRD the decision reads. */
export interface ExistingCrd {
  readonly metadata: { readonly name: string; readonly labels?: Record<string, string> };
  readonly spec?: { readonly versions?: readonly { readonly name: string; readonly served?: boolean; readonly storage?: boolean }[] };
}

export type McsCrdDecision =
  | { readonly action: "create" }
  | { readonly action: "update"; readonly why: string }
  | { readonly action: "keep"; readonly why: string }
  | { readonly action: "refuse"; readonly why: string };

/** Pure: a release label "v0.5.2" as numbers; absent or unreadable → undefined (older than any release). */
function releaseOf(v: string | undefined): number[] | undefined {
  const m = /^v?(\d+)\.(\d+)\.(\d+)$/.exec(v ?? "");
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

/** Pure: compares two CRDs' (release, schema revision) labels; a CRD without them is older than one with them. */
export function compareMcsLabels(a: Record<string, string> | undefined, b: Record<string, string> | undefined): number {
  const key = (l: Record<string, string> | undefined) => {
    const r = releaseOf(l?.[MCS_RELEASE_LABEL]);
    const rev = Number(l?.[MCS_REVISION_LABEL] ?? "");
    return r ? [...r, Number.isInteger(rev) ? rev : -1] : undefined;
  };
  const [x, y] = [key(a), key(b)];
  if (!x || !y) return (x ? 1 : 0) - (y ? 1 : 0);
  for (let i = 0; i < x.length; i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
  return 0;
}

const releaseText = (l: Record<string, string> | undefined) =>
  l?.[MCS_RELEASE_LABEL] ? `mcs-api ${l[MCS_RELEASE_LABEL]} revision ${l[MCS_REVISION_LABEL] ?? "?"}` : "no mcs-api release label";

/**
 * Pure: what join does with one MCS CRD, given what the cluster has:
 * - none → create Causeway's;
 * - Causeway's own → replace it with this build's unless it is of a newer release (a newer
 *   Causeway installed it: never downgraded);
 * - another installer's that serves the version Causeway writes → keep it as it is;
 * - another installer's that does not → refuse, saying what to do.
 */
export function decideMcsCrd(existing: ExistingCrd | undefined, ours: CrdDef): McsCrdDecision {
  if (!existing) return { action: "create" };
  const name = existing.metadata.name;
  const labels = existing.metadata.labels;
  const mine = crdObject(ours) as { metadata: { labels: Record<string, string> } };
  const served = (existing.spec?.versions ?? []).filter((v) => v.served !== false).map((v) => v.name);
  if (labels?.[PART_OF_LABEL] === "causeway") {
    if (compareMcsLabels(labels, mine.metadata.labels) > 0)
      return { action: "keep", why: `${name} is Causeway's of a newer schema (${releaseText(labels)}): not downgraded` };
    return { action: "update", why: `${name} is Causeway's: brought to ${releaseText(mine.metadata.labels)}` };
  }
  if (served.includes(ours.version)) {
    return { action: "keep", why: `${name} belongs to another installer (${releaseText(labels)}, serves ${served.join(", ")}): used as it is` };
  }
  return {
    action: "refuse",
    why:
      `CRD ${name} belongs to another installer and serves ${served.join(", ") || "no version"}, not ${MCS_VERSION}, which Causeway writes: ` +
      `upgrade the MCS CRDs to mcs-api ${releaseOf(mine.metadata.labels[MCS_RELEASE_LABEL]) ? mine.metadata.labels[MCS_RELEASE_LABEL] : "v0.5"} or later ` +
      `(they serve ${MCS_VERSION} beside the older versions), or delete them if nothing uses them, then run join again`,
  };
}

const MCS_NAMES = new Set(MCS_CRDS.map((d) => `${d.plural}.${d.group}`));

/**
 * Decides each MCS CRD against the cluster: the manifests without the MCS CRDs to keep, and one
 * line per MCS CRD saying what happens to it. Throws McsCrdConflictError (nothing applied) when
 * one cannot be used.
 */
export async function planMcsCrds(client: kube.KubeClient, ms: readonly Manifest[]): Promise<{ manifests: Manifest[]; notes: string[] }> {
  const keep = new Set<string>();
  const notes: string[] = [];
  const refused: string[] = [];
  for (const d of MCS_CRDS) {
    const name = `${d.plural}.${d.group}`;
    const existing = await client.find<ExistingCrd>(kube.R.crd, undefined, name);
    const decision = decideMcsCrd(existing, d);
    if (decision.action === "refuse") refused.push(decision.why);
    else if (decision.action === "keep") {
      keep.add(name);
      notes.push(decision.why);
    } else if (decision.action === "update") notes.push(decision.why);
  }
  if (refused.length) throw new McsCrdConflictError(refused.join("; "));
  return { manifests: ms.filter((x) => !(x.type === kube.R.crd && MCS_NAMES.has(x.object.metadata.name) && keep.has(x.object.metadata.name))), notes };
}

/** The MCS objects left in the cluster (any namespace) that are not Causeway's own imports. */
async function mcsObjectsLeft(client: kube.KubeClient): Promise<{ exports: number; imports: number }> {
  const count = async (rt: kube.ResourceType, own?: string) => {
    const list = await client.list<{ metadata: kube.ObjectMeta }>(rt).catch((err: unknown) => {
      if (err instanceof kube.KubeNotFoundError) return { items: [] };
      throw err;
    });
    return list.items.filter((o) => !own || o.metadata.labels?.["app.kubernetes.io/managed-by"] !== own).length;
  };
  return { exports: await count(kube.R.serviceExport), imports: await count(kube.R.serviceImport, "causeway-lighthouse") };
}

/**
 * Uninstall's part: deletes the MCS CRDs Causeway created when no MCS object other than its own
 * imports is left; otherwise keeps them and says why. Returns how many it deleted and the notes.
 */
export async function removeMcsCrds(client: kube.KubeClient): Promise<{ deleted: number; note?: string }> {
  const ours: string[] = [];
  for (const name of MCS_NAMES) {
    const crd = await client.find<ExistingCrd>(kube.R.crd, undefined, name);
    if (crd?.metadata.labels?.[PART_OF_LABEL] === "causeway") ours.push(name);
  }
  if (!ours.length) return { deleted: 0 };
  const left = await mcsObjectsLeft(client);
  if (left.exports + left.imports > 0) {
    return {
      deleted: 0,
      note: `kept the MCS CRDs Causeway installed (${ours.join(", ")}): ${left.exports} ServiceExport(s) and ${left.imports} ServiceImport(s) not Causeway's still use them; delete those, then the CRDs (kubectl delete crd ${ours.join(" ")})`,
    };
  }
  let deleted = 0;
  for (const name of ours) if (await client.delete(kube.R.crd, undefined, name)) deleted++;
  return { deleted };
}
