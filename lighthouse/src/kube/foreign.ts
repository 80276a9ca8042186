/**
 * ServiceImports Causeway did not make (a user's, another MCS controller's): left alone. The
 * clusterset's service of that name is not imported into the namespace while one exists — no
 * ServiceImport written over it, no MCS EndpointSlices, no clusterset IP translated — and a
 * Warning Event on it says why and what to do.
 */
import { MCS_GROUP, MCS_VERSION } from "@causeway/api";
import { IMPORT_MANAGED_LABEL, IMPORT_MANAGER } from "@causeway/common";

export const FOREIGN_IMPORT_REASON = "ForeignServiceImport";

interface Meta {
  readonly name: string;
  readonly namespace?: string | undefined;
  readonly uid?: string | undefined;
  readonly labels?: Record<string, string> | undefined;
}

/** Pure: whether Causeway manages this ServiceImport (its label). */
export function isOurImport(o: { metadata: Meta }): boolean {
  return o.metadata.labels?.[IMPORT_MANAGED_LABEL] === IMPORT_MANAGER;
}

/** Pure: the Warning Event (core v1) on a foreign ServiceImport that shadows the clusterset's import of `clusters`' exports. */
export function foreignImportEvent(o: { metadata: Meta }, clusters: readonly string[], reporter: string, now: Date) {
  const { name, namespace = "", uid } = o.metadata;
  const at = now.toISOString();
  return {
    apiVersion: "v1",
    kind: "Event",
    metadata: { generateName: `${name}.`, namespace },
    involvedObject: { apiVersion: `${MCS_GROUP}/${MCS_VERSION}`, kind: "ServiceImport", name, namespace, ...(uid ? { uid } : {}) },
    type: "Warning",
    reason: FOREIGN_IMPORT_REASON,
    message:
      `ServiceImport ${namespace}/${name} is not Causeway's (no ${IMPORT_MANAGED_LABEL}=${IMPORT_MANAGER} label): ` +
      `Causeway leaves it alone and does not import the clusterset's ${name} (exported by ${clusters.join(", ")}) into ${namespace}; ` +
      `delete it to have Causeway's import, or unexport the service`,
    source: { component: "causeway-lighthouse" },
    reportingComponent: "causeway-lighthouse",
    reportingInstance: reporter,
    firstTimestamp: at,
    lastTimestamp: at,
    eventTime: null,
    count: 1,
  };
}
