import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ServiceExport } from "@causeway/api";
import { type ClustersetImport, clustersetNatSpec, type ImportCluster, importsFromExports } from "./clusterset.ts";

const cluster = (clusterId: string, ips: [string, boolean][], extra: Partial<ImportCluster> = {}): ImportCluster => ({
  clusterId,
  connected: true,
  endpoints: ips.map(([ip, ready]) => ({ ip, ready })),
  ports: [{ name: "http", protocol: "TCP", port: 8080 }],
  ...extra,
});
const web = (clusters: ImportCluster[]): ClustersetImport => ({
  key: "default/web",
  ip: "243.0.0.5",
  ports: [{ name: "http", protocol: "TCP", port: 80 }],
  clusters,
});
const targets = (imp: ClustersetImport, local = "c1") => clustersetNatSpec(local, [imp], []).services[0]?.ports[0]?.targets.map((t) => `${t.ip}:${t.port}`);

describe("clusterset IP targets", () => {
  it("local first: only the local cluster's ready endpoints, on their target port", () => {
    const imp = web([
      cluster("c1", [
        ["10.1.1.5", true],
        ["10.1.1.6", false],
      ]),
      cluster("c2", [["10.2.1.5", true]]),
    ]);
    assert.deepEqual(targets(imp), ["10.1.1.5:8080"]);
  });

  it("no ready local endpoint: every connected cluster with a ready one; a disconnected cluster is left out", () => {
    const imp = web([
      cluster("c1", [["10.1.1.5", false]]),
      cluster("c2", [["10.2.1.5", true]]),
      cluster("c3", [["10.3.1.5", true]]),
      cluster("c4", [["10.4.1.5", true]], { connected: false }),
    ]);
    assert.deepEqual(targets(imp), ["10.2.1.5:8080", "10.3.1.5:8080"]);
  });

  it("none anywhere: the port has no target (the table refuses it); a cluster without the port name is skipped", () => {
    assert.deepEqual(targets(web([cluster("c1", [["10.1.1.5", false]])])), []);
    const other = cluster("c2", [["10.2.1.5", true]], { ports: [{ name: "admin", protocol: "TCP", port: 9000 }] });
    assert.deepEqual(targets(web([other])), []);
  });

  it("standalone: imports from the broker's exports, the oldest's address, type and ports; target ports from each export", () => {
    const exp = (at: string, extra: Partial<ServiceExport>): ServiceExport => ({
      namespace: "default",
      name: "web",
      type: "ClusterSetIP",
      ip: "",
      ports: [{ name: "http", protocol: "TCP", port: 80, targetPort: 8080 }],
      endpoints: [{ ip: "10.1.1.5", ready: true }],
      exportedAt: at,
      ...extra,
    });
    const imports = importsFromExports(
      [
        { clusterId: "c2", value: exp("t2", { clustersetIp: "243.0.16.3", endpoints: [{ ip: "10.2.1.5", ready: true }] }) },
        { clusterId: "c1", value: exp("t1", { clustersetIp: "243.0.0.5", sessionAffinity: "ClientIP" }) },
        { clusterId: "c3", value: exp("t3", { type: "Headless" }) },
      ],
      "c9",
      (id) => id !== "c2",
    );
    assert.equal(imports.length, 1);
    assert.equal(imports[0]?.ip, "243.0.0.5");
    assert.equal(imports[0]?.clientIpAffinity, true);
    assert.deepEqual(
      imports[0]?.clusters.map((c) => [c.clusterId, c.connected, c.ports[0]?.port]),
      [
        ["c1", true, 8080],
        ["c2", false, 8080],
      ],
    );
    assert.deepEqual(
      importsFromExports([{ clusterId: "c1", value: exp("t1", {}) }], "c1", () => true),
      [],
      "no address yet: nothing to translate",
    );
  });
});
