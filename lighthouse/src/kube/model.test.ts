import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ServiceExport } from "@causeway/api";
import { groups } from "./agent.ts";
import { decideExport, importObjects, MCS_SOURCE_CLUSTER_LABEL, mergePorts, sameConditions, sliceName, withTransitions } from "./model.ts";

const se = (name: string, created = "2026-11-29T10:00:00Z") => ({ metadata: { name, namespace: "test", creationTimestamp: created } });
const svc = (spec: Record<string, unknown>) => ({ metadata: { name: "web", namespace: "test" }, spec });
const slice = (endpoints: unknown[], ports?: unknown[]) =>
  ({ metadata: { name: "web-abc", namespace: "test", labels: { "kubernetes.io/service-name": "web" } }, addressType: "IPv4", endpoints, ports }) as never;

const exp = (over: Partial<ServiceExport>): ServiceExport => ({
  namespace: "test",
  name: "web",
  type: "ClusterSetIP",
  ip: "10.101.0.5",
  ports: [{ name: "http", protocol: "TCP", port: 80 }],
  endpoints: [{ ip: "10.1.1.5", ready: true }],
  exportedAt: "2026-11-29T10:00:00Z",
  ...over,
});

describe("Kubernetes-mode export and import rules (MCS)", () => {
  it("a ServiceExport is valid only for an existing, non-ExternalName Service; the record carries the Service and its ready endpoints", () => {
    assert.deepEqual(decideExport(se("web"), undefined, []).valid, {
      type: "Valid",
      status: "False",
      reason: "ServiceUnavailable",
      message: "Service test/web to be exported doesn't exist",
    });
    assert.equal(decideExport(se("web"), svc({ type: "ExternalName" }), []).valid.reason, "UnsupportedServiceType");
    const d = decideExport(
      se("web"),
      svc({ clusterIP: "None", ports: [{ name: "db", port: 5432 }], sessionAffinity: "ClientIP", sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } } }),
      [
        slice([
          { addresses: ["10.1.1.5"], hostname: "db-0", conditions: { ready: true } },
          { addresses: ["10.1.1.6"], targetRef: { kind: "Pod", name: "Db_1" }, conditions: { ready: false } },
          { addresses: ["10.1.1.7"] },
          { addresses: ["10.1.1.5"] },
        ]),
      ],
    );
    assert.equal(d.valid.status, "True");
    assert.deepEqual(d.record, {
      namespace: "test",
      name: "web",
      type: "Headless",
      ip: "",
      ports: [{ protocol: "TCP", port: 5432, name: "db" }],
      endpoints: [
        { ip: "10.1.1.5", ready: true, hostname: "db-0" },
        { ip: "10.1.1.6", ready: false, hostname: "db-1" },
        { ip: "10.1.1.7", ready: true },
      ],
      exportedAt: "2026-11-29T10:00:00Z",
      sessionAffinity: "ClientIP",
      sessionAffinityTimeoutSeconds: 60,
    });
  });

  it("ports merge into a union; a name taken with another number is a conflict the oldest wins", () => {
    const a = { clusterId: "c1", value: exp({}) };
    const b = {
      clusterId: "c2",
      value: exp({
        exportedAt: "2026-11-29T11:00:00Z",
        ports: [
          { name: "http", protocol: "TCP", port: 8080 },
          { name: "metrics", protocol: "TCP", port: 9090 },
        ],
      }),
    };
    const { ports, conflicting } = mergePorts([b, a]);
    assert.deepEqual(ports, [
      { name: "http", protocol: "TCP", port: 80 },
      { name: "metrics", protocol: "TCP", port: 9090 },
    ]);
    assert.deepEqual([...conflicting], ["c2"]);
  });

  it("the export carries each port's target port from the Service's EndpointSlices (by name and protocol), none where no slice names it", () => {
    const d = decideExport(
      se("web"),
      svc({
        clusterIP: "10.101.0.5",
        ports: [
          { name: "http", port: 80 },
          { name: "dns", port: 53, protocol: "UDP" },
          { name: "gone", port: 81 },
        ],
      }),
      [
        slice(
          [{ addresses: ["10.1.1.5"] }],
          [
            { name: "http", port: 8080, protocol: "TCP" },
            { name: "dns", port: 5353, protocol: "UDP" },
            { name: "dns", port: 9999, protocol: "TCP" },
          ],
        ),
      ],
    );
    assert.deepEqual(d.record?.ports, [
      { protocol: "TCP", port: 80, name: "http", targetPort: 8080 },
      { protocol: "UDP", port: 53, name: "dns", targetPort: 5353 },
      { protocol: "TCP", port: 81, name: "gone" },
    ]);
    const unnamed = decideExport(se("web"), svc({ clusterIP: "10.101.0.5", ports: [{ port: 80 }] }), [slice([], [{ name: "", port: 8080 }])]);
    assert.deepEqual(unnamed.record?.ports, [{ protocol: "TCP", port: 80, targetPort: 8080 }]);
  });

  it("an import: the oldest export's type, clusterset IP and attributes, merged ports, a labelled slice per cluster holding its endpoints on their target ports, owned by the ServiceImport", () => {
    const members =
      [
        ...groups([
          {
            clusterId: "c2",
            value: exp({
              exportedAt: "2026-11-29T11:00:00Z",
              ip: "10.102.0.5",
              ports: [{ name: "http", protocol: "TCP", port: 80, targetPort: 8080 }],
              endpoints: [{ ip: "10.2.1.5", ready: false, hostname: "web-0" }],
            }),
          },
          { clusterId: "c1", value: exp({ internalTrafficPolicy: "Local", clustersetIp: "243.0.0.5" }) },
          { clusterId: "c3", value: exp({ type: "Headless", ip: "", exportedAt: "2026-11-29T12:00:00Z" }) },
          { clusterId: "c4", value: exp({ unavailable: "no service" }) },
        ]).values(),
      ][0] ?? [];
    assert.deepEqual(
      members.map((m) => m.clusterId),
      ["c1", "c2"],
      "oldest first; other types and unavailable exports left out",
    );
    const o = importObjects("test", "web", members);
    assert.deepEqual(o?.serviceImport.spec, {
      type: "ClusterSetIP",
      ips: ["243.0.0.5"],
      ipFamilies: ["IPv4"],
      ports: [{ name: "http", protocol: "TCP", port: 80 }],
      internalTrafficPolicy: "Local",
    });
    assert.deepEqual(o?.status, { clusters: [{ cluster: "c1" }, { cluster: "c2" }] });
    assert.deepEqual(
      o?.slices.map((s) => [s.metadata.name, s.metadata.labels[MCS_SOURCE_CLUSTER_LABEL], s.endpoints, s.ports]),
      [
        [sliceName("web", "c1"), "c1", [{ addresses: ["10.1.1.5"], conditions: { ready: true } }], [{ name: "http", protocol: "TCP", port: 80 }]],
        [
          sliceName("web", "c2"),
          "c2",
          [{ addresses: ["10.2.1.5"], conditions: { ready: false }, hostname: "web-0" }],
          [{ name: "http", protocol: "TCP", port: 8080 }],
        ],
      ],
    );
    assert.equal(o?.slices[0]?.metadata.ownerReferences, undefined, "no owner before the ServiceImport exists");
    assert.deepEqual(importObjects("test", "web", members, "uid-1")?.slices[0]?.metadata.ownerReferences, [
      { apiVersion: "multicluster.x-k8s.io/v1beta1", kind: "ServiceImport", name: "web", uid: "uid-1" },
    ]);
    assert.notEqual(sliceName("a-b", "c"), sliceName("a", "b-c"));
    assert.ok(sliceName("x".repeat(63), "y".repeat(63)).length <= 253);
  });

  it("conditions keep their transition time while their status holds", () => {
    const prev = withTransitions([{ type: "Valid", status: "True", reason: "Exported" }], undefined, "t0");
    assert.deepEqual(withTransitions([{ type: "Valid", status: "True", reason: "Exported" }], prev, "t1")[0]?.lastTransitionTime, "t0");
    assert.deepEqual(withTransitions([{ type: "Valid", status: "False", reason: "ServiceUnavailable" }], prev, "t1")[0]?.lastTransitionTime, "t1");
    assert.ok(sameConditions(prev, withTransitions([{ type: "Valid", status: "True", reason: "Exported" }], prev, "t2")));
    assert.ok(!sameConditions(prev, withTransitions([{ type: "Valid", status: "True", reason: "Other" }], prev, "t2")));
  });
});
