import { CAUSEWAY_CRDS, type CrdDef, MCS_CRDS, ValidationError } from "@causeway/api";
import type { ResourceType } from "./client.ts";

const core = (plural: string, kind: string, namespaced = true): ResourceType => ({ group: "", version: "v1", plural, kind, namespaced });
const of = (group: string, version: string, plural: string, kind: string, namespaced = true): ResourceType => ({ group, version, plural, kind, namespaced });

/** The resource type of a CRD definition. */
export const crdType = (d: CrdDef): ResourceType => of(d.group, d.version, d.plural, d.kind);

const byKind = (defs: readonly CrdDef[], kind: string): ResourceType => {
  const d = defs.find((x) => x.kind === kind);
  if (!d) throw new ValidationError(`no CRD definition for ${kind}`);
  return crdType(d);
};

/** Every resource type Causeway reads or writes. */
export const R = {
  namespace: core("namespaces", "Namespace", false),
  node: core("nodes", "Node", false),
  service: core("services", "Service"),
  configMap: core("configmaps", "ConfigMap"),
  secret: core("secrets", "Secret"),
  persistentVolumeClaim: core("persistentvolumeclaims", "PersistentVolumeClaim"),
  persistentVolume: core("persistentvolumes", "PersistentVolume", false),
  pod: core("pods", "Pod"),
  event: core("events", "Event"),
  serviceAccount: core("serviceaccounts", "ServiceAccount"),
  endpointSlice: of("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice"),
  lease: of("coordination.k8s.io", "v1", "leases", "Lease"),
  daemonSet: of("apps", "v1", "daemonsets", "DaemonSet"),
  deployment: of("apps", "v1", "deployments", "Deployment"),
  clusterRole: of("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", false),
  clusterRoleBinding: of("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", false),
  role: of("rbac.authorization.k8s.io", "v1", "roles", "Role"),
  roleBinding: of("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding"),
  crd: of("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", false),
  selfSubjectAccessReview: of("authorization.k8s.io", "v1", "selfsubjectaccessreviews", "SelfSubjectAccessReview", false),
  endpoint: byKind(CAUSEWAY_CRDS, "Endpoint"),
  cluster: byKind(CAUSEWAY_CRDS, "Cluster"),
  gateway: byKind(CAUSEWAY_CRDS, "Gateway"),
  globalEgressIP: byKind(CAUSEWAY_CRDS, "GlobalEgressIP"),
  serviceExport: byKind(MCS_CRDS, "ServiceExport"),
  serviceImport: byKind(MCS_CRDS, "ServiceImport"),
} as const satisfies Record<string, ResourceType>;
