import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ServiceExport } from "@causeway/api";
import { groups } from "./agent.ts";
import { decideExport, importObjects, MCS_SOURCE_CLUSTER_LABEL, mergePorts, sameConditions, sliceName, withTransitions } from "./model.ts";

const se = (name: string, created = "2026-11-29T10:00:00Z") => ({ metadata: { name, namespace: "test", creationTimestamp: created } });
const svc = (spec: Record<string, unknown>) => ({ metadata: { name: "web", namespace: "test" }, spec });
const slice = (endpoints: unknown[]) =>
  ({ metadata: { name: "web-abc", namespace: "test", labels: { "kubernetes.io/service-name": "web" } }, addressType: "IPv4", endpoints }) as never;

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

  it("an import: the oldest export's type and attributes, merged ports, a labelled slice per cluster (service IP, or each endpoint when headless)", () => {
    const members =
      [
        ...groups([
          { clusterId: "c2", value: exp({ exportedAt: "2026-11-29T11:00:00Z", ip: "10.102.0.5", endpoints: [{ ip: "10.2.1.5", ready: false }] }) },
          { clusterId: "c1", value: exp({ internalTrafficPolicy: "Local" }) },
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
    assert.deepEqual(o?.serviceImport.spec, { type: "ClusterSetIP", ports: [{ name: "http", protocol: "TCP", port: 80 }], internalTrafficPolicy: "Local" });
    assert.deepEqual(o?.status, { clusters: [{ cluster: "c1" }, { cluster: "c2" }] });
    assert.deepEqual(
      o?.slices.map((s) => [s.metadata.name, s.metadata.labels[MCS_SOURCE_CLUSTER_LABEL], s.endpoints]),
      [
        [sliceName("web", "c1"), "c1", [{ addresses: ["10.101.0.5"], conditions: { ready: true } }]],
        [sliceName("web", "c2"), "c2", [{ addresses: ["10.102.0.5"], conditions: { ready: false } }]],
      ],
    );
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
