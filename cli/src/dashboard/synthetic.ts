/**
 * A synthetic clusterset for the dashboard's tests and bench: `clusters` clusters in a full
 * mesh of VXLAN cables, one active gateway each, `exports` services spread over them. Test code.
 */
import type { Cluster, Endpoint, GatewayStatus, ServiceExport } from "@causeway/api";
import type { DashSource } from "./model.ts";

const endpointOf = (i: number): Endpoint => ({
  cluster_id: `c${i}`,
  cable_name: `causeway-cable-c${i}-198-18-${i}-10`,
  healthCheckIP: `10.${i}.0.1`,
  hostname: "n0",
  subnets: [`10.${i}.0.0/16`],
  private_ip: `198.18.${i}.10`,
  public_ip: `198.18.${i}.10`,
  nat_enabled: false,
  backend: "vxlan",
  backend_config: {},
});

/** `status(i, j)`: the cable from cluster i to j (connected unless it says otherwise). */
export function syntheticClusterset(
  clusters: number,
  exports: number,
  o: { status?: (from: number, to: number) => "connected" | "error"; nowMs?: number; serviceName?: (k: number) => string } = {},
): DashSource {
  const ids = Array.from({ length: clusters }, (_, i) => i + 1);
  const now = new Date(o.nowMs ?? Date.now()).toISOString();
  const cs = new Map<string, Cluster>(
    ids.map((i) => [`c${i}`, { cluster_id: `c${i}`, cluster_cidr: [`10.${i}.0.0/16`], service_cidr: [`11.${i}.0.0/16`], global_cidr: [] }]),
  );
  const gateways = ids.map((i) => {
    const status: GatewayStatus = {
      version: "0.1.0",
      haStatus: "active",
      localEndpoint: endpointOf(i),
      statusFailure: "",
      connections: ids
        .filter((j) => j !== i)
        .map((j) => {
          const s = o.status?.(i, j) ?? "connected";
          return {
            status: s,
            statusMessage: s === "connected" ? "" : "no reply from the remote endpoint's health-check IP",
            endpoint: endpointOf(j),
            usingIP: `198.18.${j}.10`,
            usingNAT: false,
            ...(s === "connected" ? { latencyRTT: { last: "1.2ms", min: "0.9ms", average: "1.1ms", max: "2ms", stdDev: "0.1ms" } } : {}),
          };
        }),
      updatedAt: now,
    };
    return { cluster: `c${i}`, node: "n0", status };
  });
  const ex: { cluster: string; e: ServiceExport }[] = Array.from({ length: exports }, (_, k) => {
    const i = (k % clusters) + 1;
    return {
      cluster: `c${i}`,
      e: {
        namespace: `ns${k % 20}`,
        name: o.serviceName?.(k) ?? `svc${k}`,
        type: "ClusterSetIP",
        ip: `11.${i}.0.${(k % 250) + 2}`,
        ports: [{ protocol: "TCP", port: 80 }],
        endpoints: [{ ip: `10.${i}.1.${(k % 250) + 2}`, ready: true }],
        exportedAt: now,
      },
    };
  });
  return { clusters: cs, endpoints: ids.map(endpointOf), gateways, exports: ex };
}
