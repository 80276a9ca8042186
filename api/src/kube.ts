import { createHash } from "node:crypto";
import { z } from "zod";
import { GlobalEgressIPSpecSchema, GlobalEgressIPStatusSchema } from "./globalegress.ts";
import { ClusterSchema, EndpointSchema, GatewayStatusSchema } from "./resources.ts";

/**
 * Causeway's Kubernetes resources, generated from the same zod schemas the broker validates
 * with (one source of truth): custom resources in our own API group, plus the upstream MCS
 * resources at the version the current mcs-api conformance suite uses. Pure data, no I/O.
 */
export const GROUP = "causeway.io";
export const VERSION = "v1";
export const MCS_GROUP = "multicluster.x-k8s.io";
export const MCS_VERSION = "v1beta1";
/** Where each member cluster keeps its clusterset view and runs Causeway. */
export const SYSTEM_NAMESPACE = "causeway-system";
/** Annotation on each CRD: a hash of its schema, so a component can tell a CRD of another build. */
export const SCHEMA_HASH_ANNOTATION = "causeway.io/schema-hash";

/** Metadata fields our code reads; the server's other fields pass through unchecked. */
export const ObjectMetaSchema = z.looseObject({
  name: z.string(),
  namespace: z.string().optional(),
  uid: z.string().optional(),
  resourceVersion: z.string().optional(),
  creationTimestamp: z.string().optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});

export const EndpointObjectSchema = z.looseObject({ metadata: ObjectMetaSchema, spec: EndpointSchema });
export const ClusterObjectSchema = z.looseObject({ metadata: ObjectMetaSchema, spec: ClusterSchema });
export const GatewayObjectSchema = z.looseObject({ metadata: ObjectMetaSchema, status: GatewayStatusSchema.optional() });
/** A namespace's own egress pool under globalnet (globalegress.ts); in the users' namespaces. */
export const GlobalEgressIPObjectSchema = z.looseObject({
  metadata: ObjectMetaSchema,
  spec: GlobalEgressIPSpecSchema.default({}),
  status: GlobalEgressIPStatusSchema.optional(),
});
export type GlobalEgressIPObject = z.infer<typeof GlobalEgressIPObjectSchema>;
/** What a namespace's egress pool needs of a pod: namespace, labels, address (host-network pods have the node's: left alone). */
export const PodAddressObjectSchema = z.looseObject({
  metadata: ObjectMetaSchema,
  spec: z.looseObject({ hostNetwork: z.boolean().optional() }).optional(),
  status: z.looseObject({ podIP: z.string().optional() }).optional(),
});
export type EndpointObject = z.infer<typeof EndpointObjectSchema>;
export type ClusterObject = z.infer<typeof ClusterObjectSchema>;
export type GatewayObject = z.infer<typeof GatewayObjectSchema>;

type Json = { [k: string]: unknown };

/** A zod schema as a Kubernetes structural schema (OpenAPI v3 subset). */
export function structuralSchema(schema: z.ZodType): Json {
  return clean(z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }));
}

function clean(node: Json): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === "$schema" || k === "propertyNames") continue;
    // Structural schemas forbid additionalProperties beside properties; unknown fields are pruned anyway.
    if (k === "additionalProperties" && (v === false || node.properties)) continue;
    if (k === "properties" && v && typeof v === "object") {
      out[k] = Object.fromEntries(Object.entries(v as Record<string, Json>).map(([p, s]) => [p, clean(s)]));
    } else if ((k === "items" || k === "additionalProperties") && v && typeof v === "object") {
      out[k] = clean(v as Json);
    } else {
      out[k] = v;
    }
  }
  return out;
}

export interface PrinterColumn {
  readonly name: string;
  readonly type: "string" | "integer" | "boolean" | "date";
  readonly jsonPath: string;
}

/** What a CRD is made from. */
export interface CrdDef {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  readonly plural: string;
  readonly singular: string;
  readonly shortNames?: readonly string[];
  readonly spec?: Json;
  readonly status?: Json;
  readonly columns?: readonly PrinterColumn[];
  /** Older versions served beside `version` (the storage version), with the same schema (no conversion). */
  readonly alsoServed?: readonly string[];
  /** Labels of the CRD object beyond Causeway's own. */
  readonly labels?: Readonly<Record<string, string>>;
}

export const CAUSEWAY_CRDS: readonly CrdDef[] = [
  {
    group: GROUP,
    version: VERSION,
    kind: "Endpoint",
    plural: "endpoints",
    singular: "endpoint",
    shortNames: ["cwep"],
    spec: structuralSchema(EndpointSchema),
    columns: [
      { name: "Cluster", type: "string", jsonPath: ".spec.cluster_id" },
      { name: "Private IP", type: "string", jsonPath: ".spec.private_ip" },
      { name: "Public IP", type: "string", jsonPath: ".spec.public_ip" },
      { name: "Backend", type: "string", jsonPath: ".spec.backend" },
    ],
  },
  {
    group: GROUP,
    version: VERSION,
    kind: "Cluster",
    plural: "clusters",
    singular: "cluster",
    shortNames: ["cwcluster"],
    spec: structuralSchema(ClusterSchema),
    columns: [{ name: "Pod CIDRs", type: "string", jsonPath: ".spec.cluster_cidr" }],
  },
  {
    group: GROUP,
    version: VERSION,
    kind: "Gateway",
    plural: "gateways",
    singular: "gateway",
    shortNames: ["cwgw"],
    status: structuralSchema(GatewayStatusSchema),
    columns: [{ name: "HA Status", type: "string", jsonPath: ".status.haStatus" }],
  },
  {
    group: GROUP,
    version: VERSION,
    kind: "GlobalEgressIP",
    plural: "globalegressips",
    singular: "globalegressip",
    shortNames: ["cwgeip"],
    spec: structuralSchema(GlobalEgressIPSpecSchema),
    status: structuralSchema(GlobalEgressIPStatusSchema),
    columns: [
      { name: "IPs", type: "integer", jsonPath: ".spec.numberOfIPs" },
      { name: "Allocated", type: "string", jsonPath: ".status.allocatedIPs" },
      { name: "Message", type: "string", jsonPath: ".status.message" },
    ],
  },
];

/**
 * The MCS API's labels on its CRDs (mcs-api `config/crd`): the release whose schema a CRD is, and
 * the schema's revision within it. Installers compare them so that nobody downgrades a CRD.
 */
export const MCS_RELEASE_LABEL = "multicluster.x-k8s.io/release-version";
export const MCS_REVISION_LABEL = "multicluster.x-k8s.io/crd-schema-revision";
/** The mcs-api release whose CRDs Causeway's are shaped after: versions, names, fields, printer columns. */
export const MCS_RELEASE = "v0.5.2";
export const MCS_SCHEMA_REVISION = "0";

/** metav1.Condition as the MCS CRDs hold it (accepting every condition upstream's schema accepts). */
const MCS_CONDITIONS: Json = {
  type: "array",
  items: {
    type: "object",
    required: ["type", "status"],
    properties: {
      type: { type: "string", maxLength: 316 },
      status: { type: "string", enum: ["True", "False", "Unknown"] },
      reason: { type: "string", maxLength: 1024 },
      message: { type: "string", maxLength: 32768 },
      lastTransitionTime: { type: "string", format: "date-time" },
      observedGeneration: { type: "integer", format: "int64", minimum: 0 },
    },
  },
  "x-kubernetes-list-type": "map",
  "x-kubernetes-list-map-keys": ["type"],
};

const MCS_PORT: Json = {
  type: "object",
  required: ["port"],
  properties: {
    name: { type: "string" },
    protocol: { type: "string" },
    appProtocol: { type: "string" },
    port: { type: "integer", format: "int32" },
  },
};

const MCS_LABELS = { [MCS_RELEASE_LABEL]: MCS_RELEASE, [MCS_REVISION_LABEL]: MCS_SCHEMA_REVISION };

/**
 * The MCS API resources (KEP-1645), written from the upstream field list (reference mcs-api §0.1)
 * and shaped like the mcs-api release MCS_RELEASE: v1beta1 stored, v1alpha1 served with the same
 * schema, the same names, short names and printer columns, and its release labels. The schemas
 * accept every object upstream's accept (Causeway's writers hold themselves to more).
 */
export const MCS_CRDS: readonly CrdDef[] = [
  {
    group: MCS_GROUP,
    version: MCS_VERSION,
    alsoServed: ["v1alpha1"],
    labels: MCS_LABELS,
    kind: "ServiceExport",
    plural: "serviceexports",
    singular: "serviceexport",
    shortNames: ["svcex", "svcexport"],
    spec: {
      type: "object",
      properties: {
        exportedLabels: { type: "object", additionalProperties: { type: "string" } },
        exportedAnnotations: { type: "object", additionalProperties: { type: "string" } },
      },
    },
    status: { type: "object", properties: { conditions: MCS_CONDITIONS } },
    columns: [{ name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" }],
  },
  {
    group: MCS_GROUP,
    version: MCS_VERSION,
    alsoServed: ["v1alpha1"],
    labels: MCS_LABELS,
    kind: "ServiceImport",
    plural: "serviceimports",
    singular: "serviceimport",
    shortNames: ["svcim", "svcimport"],
    spec: {
      type: "object",
      required: ["type"],
      properties: {
        ports: { type: "array", items: MCS_PORT, "x-kubernetes-list-type": "atomic" },
        ips: { type: "array", maxItems: 2, items: { type: "string" } },
        type: { type: "string", enum: ["ClusterSetIP", "Headless"] },
        sessionAffinity: { type: "string" },
        sessionAffinityConfig: {
          type: "object",
          properties: { clientIP: { type: "object", properties: { timeoutSeconds: { type: "integer", format: "int32" } } } },
        },
        ipFamilies: { type: "array", maxItems: 2, items: { type: "string" } },
        internalTrafficPolicy: { type: "string" },
        trafficDistribution: { type: "string" },
      },
    },
    status: {
      type: "object",
      properties: {
        clusters: {
          type: "array",
          items: { type: "object", required: ["cluster"], properties: { cluster: { type: "string" } } },
          "x-kubernetes-list-type": "map",
          "x-kubernetes-list-map-keys": ["cluster"],
        },
        conditions: MCS_CONDITIONS,
      },
    },
    columns: [
      { name: "Type", type: "string", jsonPath: ".spec.type" },
      { name: "IP", type: "string", jsonPath: ".spec.ips" },
      { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
    ],
  },
];

/** The CustomResourceDefinition object (apiextensions.k8s.io/v1) for a definition. */
export function crdObject(d: CrdDef): Json {
  const properties: Json = {};
  if (d.spec) properties.spec = d.spec;
  if (d.status) properties.status = d.status;
  const openAPIV3Schema = { type: "object", properties, ...(d.spec?.required ? { required: ["spec"] } : {}) };
  const hash = createHash("sha256").update(JSON.stringify(openAPIV3Schema)).digest("hex").slice(0, 16);
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: {
      name: `${d.plural}.${d.group}`,
      annotations: { [SCHEMA_HASH_ANNOTATION]: hash },
      labels: { ...d.labels, "app.kubernetes.io/part-of": "causeway" },
    },
    spec: {
      group: d.group,
      scope: "Namespaced",
      names: { kind: d.kind, listKind: `${d.kind}List`, plural: d.plural, singular: d.singular, ...(d.shortNames ? { shortNames: d.shortNames } : {}) },
      versions: [...(d.alsoServed ?? []), d.version].map((name) => ({
        name,
        served: true,
        storage: name === d.version,
        schema: { openAPIV3Schema },
        ...(d.status ? { subresources: { status: {} } } : {}),
        ...(d.columns ? { additionalPrinterColumns: d.columns.map((c) => ({ ...c })) } : {}),
      })),
    },
  };
}
