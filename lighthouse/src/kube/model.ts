import { createHash } from "node:crypto";
import { MCS_GROUP, MCS_VERSION, ObjectMetaSchema, type ServiceExport } from "@causeway/api";
import { IMPORT_MANAGED_LABEL, IMPORT_MANAGER, MANAGED_BY_LABEL, MCS_SERVICE_NAME_LABEL, MCS_SOURCE_CLUSTER_LABEL, SLICE_MANAGER } from "@causeway/common";
import { z } from "zod";
import { type ExportRecord, mergePorts, type MergedPort } from "@causeway/common";

export { mergePorts, type MergedPort };

export { MANAGED_BY_LABEL, MCS_SERVICE_NAME_LABEL, MCS_SOURCE_CLUSTER_LABEL, SLICE_MANAGER } from "@causeway/common";

const Port = z.looseObject({ name: z.string().optional(), protocol: z.string().optional(), port: z.number().int() });

export const ServiceObjectSchema = z.looseObject({
  metadata: ObjectMetaSchema,
  spec: z
    .looseObject({
      type: z.string().optional(),
      clusterIP: z.string().optional(),
      ports: z.array(Port).optional(),
      sessionAffinity: z.string().optional(),
      sessionAffinityConfig: z.looseObject({ clientIP: z.looseObject({ timeoutSeconds: z.number().optional() }).optional() }).optional(),
      internalTrafficPolicy: z.string().optional(),
      trafficDistribution: z.string().optional(),
    })
    .default({}),
});
export type ServiceObject = z.infer<typeof ServiceObjectSchema>;

export const EndpointSliceObjectSchema = z.looseObject({
  metadata: ObjectMetaSchema,
  addressType: z.string().optional(),
  endpoints: z
    .array(
      z.looseObject({
        addresses: z.array(z.string()),
        hostname: z.string().optional(),
        conditions: z.looseObject({ ready: z.boolean().optional() }).optional(),
        targetRef: z.looseObject({ kind: z.string().optional(), name: z.string().optional() }).optional(),
      }),
    )
    .nullish(),
  ports: z.array(z.looseObject({ name: z.string().nullish(), protocol: z.string().nullish(), port: z.number().int().nullish() })).nullish(),
});
export type EndpointSliceObject = z.infer<typeof EndpointSliceObjectSchema>;

export const Condition = z.looseObject({
  type: z.string(),
  status: z.enum(["True", "False", "Unknown"]),
  reason: z.string().optional(),
  message: z.string().optional(),
  lastTransitionTime: z.string().optional(),
});
export type Condition = z.infer<typeof Condition>;
/** A condition as a controller decides it (the transition time is filled in when written). */
export interface NewCondition {
  readonly type: string;
  readonly status: "True" | "False" | "Unknown";
  readonly reason?: string;
  readonly message?: string;
}

export const ServiceExportObjectSchema = z.looseObject({
  metadata: ObjectMetaSchema,
  status: z.looseObject({ conditions: z.array(Condition).optional() }).optional(),
});
export type ServiceExportObject = z.infer<typeof ServiceExportObjectSchema>;

export const NamespaceObjectSchema = z.looseObject({ metadata: ObjectMetaSchema });

/** What a ServiceExport's Valid condition says, and the export record when it is valid. */
export interface ExportDecision {
  readonly valid: NewCondition;
  readonly record?: ServiceExport;
}

const label = (s: string) => s.toLowerCase().replace(/[^a-z0-9-]/g, "-");

/**
 * Pure: the export of a ServiceExport's Service (MCS rules): none while the Service does not
 * exist (Valid False ServiceUnavailable) or is an ExternalName (UnsupportedServiceType);
 * otherwise ClusterSetIP (its cluster IP) or Headless (clusterIP None), its ports, and its
 * endpoints from the Service's EndpointSlices (ready unless a condition says not; the DNS label
 * is the endpoint's hostname, else its pod's name). Its age is the ServiceExport's.
 */
export function decideExport(se: ServiceExportObject, svc: ServiceObject | undefined, slices: readonly EndpointSliceObject[]): ExportDecision {
  const { name, namespace = "" } = se.metadata;
  if (!svc)
    return { valid: { type: "Valid", status: "False", reason: "ServiceUnavailable", message: `Service ${namespace}/${name} to be exported doesn't exist` } };
  const spec = svc.spec;
  if (spec.type === "ExternalName") {
    return { valid: { type: "Valid", status: "False", reason: "UnsupportedServiceType", message: "ExternalName services cannot be exported" } };
  }
  const headless = spec.clusterIP === "None";
  const record: ServiceExport = {
    namespace,
    name,
    type: headless ? "Headless" : "ClusterSetIP",
    ip: headless ? "" : (spec.clusterIP ?? ""),
    ports: (spec.ports ?? []).map((p) => {
      const protocol = p.protocol === "UDP" || p.protocol === "SCTP" ? p.protocol : "TCP";
      const targetPort = targetPortOf(slices, p.name ?? "", protocol);
      return { protocol, port: p.port, ...(p.name ? { name: p.name } : {}), ...(targetPort ? { targetPort } : {}) };
    }),
    endpoints: endpointsOf(slices),
    exportedAt: se.metadata.creationTimestamp ?? new Date(0).toISOString(),
    ...serviceAttributes(spec),
  };
  return { valid: { type: "Valid", status: "True", reason: "Exported", message: "the Service is exportable" }, record };
}

/**
 * Pure: the port on the endpoints of the Service port named `name` (EndpointSlices name a port as
 * the Service does, "" when unnamed): the first slice's that has it. Slices of one Service may
 * differ (a named targetPort resolved per pod); the export carries one number.
 */
function targetPortOf(slices: readonly EndpointSliceObject[], name: string, protocol: string): number | undefined {
  for (const s of slices) {
    const p = (s.ports ?? []).find((x) => (x.name ?? "") === name && (x.protocol ?? "TCP") === protocol);
    if (p?.port) return p.port;
  }
  return undefined;
}

/** Pure: the endpoints of a Service's EndpointSlices (IPv4, each address once; ready unless a condition says not; DNS label from hostname, else pod name). */
function endpointsOf(slices: readonly EndpointSliceObject[]): ServiceExport["endpoints"] {
  const seen = new Set<string>();
  const out: ServiceExport["endpoints"] = [];
  for (const slice of slices) {
    if (slice.addressType && slice.addressType !== "IPv4") continue;
    for (const e of slice.endpoints ?? []) {
      const ip = e.addresses[0];
      if (!ip || seen.has(ip)) continue;
      seen.add(ip);
      const host = hostLabelOf(e.hostname ?? (e.targetRef?.kind === "Pod" ? e.targetRef.name : undefined));
      out.push({ ip, ready: e.conditions?.ready !== false, ...(host ? { hostname: host } : {}) });
    }
  }
  return out;
}

function hostLabelOf(name: string | undefined): string | undefined {
  const l = name
    ? label(name)
        .slice(0, 63)
        .replace(/^-+|-+$/g, "")
    : "";
  return l || undefined;
}

/** Pure: the Service attributes an import copies (session affinity and its timeout, traffic policy and distribution). */
function serviceAttributes(spec: ServiceObject["spec"]): Partial<ServiceExport> {
  const affinity = spec.sessionAffinity === "ClientIP" || spec.sessionAffinity === "None" ? spec.sessionAffinity : undefined;
  const timeout = affinity === "ClientIP" ? spec.sessionAffinityConfig?.clientIP?.timeoutSeconds : undefined;
  const policy = spec.internalTrafficPolicy === "Cluster" || spec.internalTrafficPolicy === "Local" ? spec.internalTrafficPolicy : undefined;
  return {
    ...(affinity ? { sessionAffinity: affinity } : {}),
    ...(timeout ? { sessionAffinityTimeoutSeconds: timeout } : {}),
    ...(policy ? { internalTrafficPolicy: policy } : {}),
    ...(spec.trafficDistribution ? { trafficDistribution: spec.trafficDistribution } : {}),
  };
}

/** Pure: the name of the EndpointSlice of one source cluster's part of an import (a DNS subdomain, unique per service and cluster). */
export function sliceName(service: string, clusterId: string): string {
  const hash = createHash("sha256").update(`${service}/${clusterId}`).digest("hex").slice(0, 8);
  return `${service.slice(0, 40)}-${clusterId.slice(0, 40)}-${hash}`.replace(/-+/g, "-");
}

/** The objects an import becomes in one namespace of a cluster. */
export interface ImportObjects {
  readonly serviceImport: { metadata: { name: string; namespace: string; labels: Record<string, string> }; spec: Record<string, unknown> };
  readonly status: { clusters: { cluster: string }[] };
  readonly slices: {
    metadata: {
      name: string;
      namespace: string;
      labels: Record<string, string>;
      ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string }[];
    };
    addressType: string;
    endpoints: unknown[];
    ports: unknown[];
  }[];
}

export { IMPORT_MANAGED_LABEL, IMPORT_MANAGER } from "@causeway/common";

/**
 * Pure: a ServiceImport and one MCS EndpointSlice per exporting cluster for a service imported
 * from `members` (the exports of its type, oldest first). The import's type, session affinity,
 * traffic policy and distribution are the oldest export's, its ports the merged ones, its
 * `spec.ips` the oldest export's clusterset IP (ClusterSetIP). Each slice holds that
 * cluster's endpoints (their readiness, hostnames; ports as the endpoints serve them), as the MCS
 * API has it, and names the ServiceImport (uid `importUid`, once it exists) as its owner.
 */
export function importObjects(namespace: string, name: string, members: readonly ExportRecord[], importUid?: string): ImportObjects | undefined {
  const oldest = members[0]?.value;
  if (!oldest) return undefined;
  const { ports } = mergePorts(members);
  const spec: Record<string, unknown> = {
    type: oldest.type,
    ...(oldest.type === "ClusterSetIP" && oldest.clustersetIp ? { ips: [oldest.clustersetIp], ipFamilies: ["IPv4"] } : {}),
    ports: ports.map((p) => ({ ...(p.name ? { name: p.name } : {}), protocol: p.protocol, port: p.port })),
    ...(oldest.sessionAffinity ? { sessionAffinity: oldest.sessionAffinity } : {}),
    ...(oldest.sessionAffinityTimeoutSeconds ? { sessionAffinityConfig: { clientIP: { timeoutSeconds: oldest.sessionAffinityTimeoutSeconds } } } : {}),
    ...(oldest.internalTrafficPolicy ? { internalTrafficPolicy: oldest.internalTrafficPolicy } : {}),
    ...(oldest.trafficDistribution ? { trafficDistribution: oldest.trafficDistribution } : {}),
  };
  const slices = members.map((m) => {
    const v = m.value;
    const endpoints = v.endpoints.map((e) => ({ addresses: [e.ip], conditions: { ready: e.ready }, ...(e.hostname ? { hostname: e.hostname } : {}) }));
    return {
      metadata: {
        name: sliceName(name, m.clusterId),
        namespace,
        labels: { [MCS_SERVICE_NAME_LABEL]: name, [MCS_SOURCE_CLUSTER_LABEL]: m.clusterId, [MANAGED_BY_LABEL]: SLICE_MANAGER },
        ...(importUid ? { ownerReferences: [{ apiVersion: `${MCS_GROUP}/${MCS_VERSION}`, kind: "ServiceImport", name, uid: importUid }] } : {}),
      },
      addressType: "IPv4",
      endpoints,
      ports: v.ports.map((p) => ({ ...(p.name ? { name: p.name } : {}), protocol: p.protocol, port: p.targetPort ?? p.port })),
    };
  });
  return {
    serviceImport: { metadata: { name, namespace, labels: { [IMPORT_MANAGED_LABEL]: IMPORT_MANAGER } }, spec },
    status: { clusters: members.map((m) => ({ cluster: m.clusterId })) },
    slices,
  };
}

/** Pure: conditions keep their lastTransitionTime while their status stays (Kubernetes convention). */
export function withTransitions(next: readonly NewCondition[], prev: readonly Condition[] | undefined, now: string): Condition[] {
  return next.map((c) => {
    const before = prev?.find((p) => p.type === c.type);
    return { ...c, lastTransitionTime: before && before.status === c.status && before.lastTransitionTime ? before.lastTransitionTime : now };
  });
}

/** Pure: whether two condition lists say the same (ignoring transition times). */
export function sameConditions(a: readonly Condition[] | undefined, b: readonly Condition[]): boolean {
  if (!a || a.length !== b.length) return false;
  return b.every((c) => a.some((x) => x.type === c.type && x.status === c.status && x.reason === c.reason && x.message === c.message));
}
