import { type ServiceExport, unavailableExport as placeholderExport } from "@causeway/api";
import type { SiteService } from "./site.ts";

/** Pure: the export record of a site service, its endpoints' readiness from `ready`. */
export function exportOf(svc: SiteService, ready: (ip: string) => boolean, exportedAt: string): ServiceExport {
  return {
    namespace: svc.namespace,
    name: svc.name,
    type: svc.type,
    ip: svc.type === "ClusterSetIP" ? (svc.ip ?? "") : "",
    ports: svc.ports.map((p) => ({
      protocol: p.protocol,
      port: p.port,
      ...(p.name ? { name: p.name } : {}),
      ...(p.targetPort ? { targetPort: p.targetPort } : {}),
    })),
    endpoints: svc.endpoints.map((e) => ({ ip: e.ip, ready: ready(e.ip), ...(e.hostname ? { hostname: e.hostname } : {}) })),
    exportedAt,
  };
}

/** Pure: the export of a service that does not exist (yet): kept, with its creation time, but imported nowhere. */
export function unlistedExport(e: Pick<ServiceExport, "namespace" | "name" | "type" | "exportedAt">): ServiceExport {
  return placeholderExport(e, `service ${e.namespace}/${e.name} is not in the site file; it is exported once added`);
}
