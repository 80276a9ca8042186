import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Cluster, Endpoint } from "@causeway/api";
import { view } from "@causeway/common";
import { planSync } from "../index.ts";

const ep = (id: string, n: number): Endpoint => ({
  cluster_id: id,
  cable_name: `causeway-cable-${id}-198-18-${n}-10`,
  healthCheckIP: "",
  hostname: "n0",
  subnets: [`10.${n}.0.0/16`],
  private_ip: `198.18.${n}.10`,
  public_ip: "",
  nat_enabled: false,
  backend: "vxlan",
  backend_config: {},
});
const cl = (id: string, n: number): Cluster => ({ cluster_id: id, cluster_cidr: [`10.${n}.0.0/16`], service_cidr: [], global_cidr: [] });
const rec = <T>(clusterId: string, name: string, value: T) => ({ kind: "endpoint" as const, clusterId, name, value, revision: 1, createRevision: 1 });
const obj = (e: Endpoint) => ({ ...view.endpointObject(e, "ns"), metadata: { name: view.endpointObjectName(e), namespace: "ns" } });

describe("broker syncer plan", () => {
  it("remote endpoints flow broker → local, ours local → broker, our Cluster both ways; a second pass plans nothing", () => {
    const plan = planSync({
      localCluster: cl("c1", 1),
      brokerEndpoints: [rec("c2", ep("c2", 2).cable_name, ep("c2", 2))],
      brokerClusters: [{ ...rec("c2", "c2", cl("c2", 2)), kind: "cluster" as const }],
      kubeEndpoints: [obj(ep("c1", 1))],
      kubeClusters: [],
    });
    assert.deepEqual(plan.kubeEndpoints.apply, [ep("c2", 2)]);
    assert.deepEqual(plan.brokerEndpoints.put, [ep("c1", 1)]);
    assert.deepEqual(plan.kubeClusters.apply.map((c) => c.cluster_id).sort(), ["c1", "c2"]);
    assert.deepEqual(plan.brokerCluster, cl("c1", 1));
    const settled = planSync({
      localCluster: cl("c1", 1),
      brokerEndpoints: [rec("c2", ep("c2", 2).cable_name, ep("c2", 2)), rec("c1", ep("c1", 1).cable_name, ep("c1", 1))],
      brokerClusters: [
        { ...rec("c2", "c2", cl("c2", 2)), kind: "cluster" as const },
        { ...rec("c1", "c1", cl("c1", 1)), kind: "cluster" as const },
      ],
      kubeEndpoints: [obj(ep("c1", 1)), obj(ep("c2", 2))],
      kubeClusters: [
        { metadata: { name: "c1" }, spec: cl("c1", 1) },
        { metadata: { name: "c2" }, spec: cl("c2", 2) },
      ],
    });
    assert.deepEqual(settled, {
      kubeEndpoints: { apply: [], delete: [] },
      kubeClusters: { apply: [], delete: [] },
      brokerEndpoints: { put: [], delete: [] },
      brokerCluster: undefined,
    });
  });

  it("our Cluster keeps what the broker placed (clusterset IP block, global CIDR): locally it has them, and the broker is not rewritten", () => {
    const placed: Cluster = { ...cl("c1", 1), global_cidr: ["242.0.0.0/16"], clusterset_ip_cidr: ["243.0.0.0/20"] };
    const plan = planSync({
      localCluster: cl("c1", 1),
      brokerEndpoints: [],
      brokerClusters: [{ ...rec("c1", "c1", placed), kind: "cluster" as const }],
      kubeEndpoints: [],
      kubeClusters: [{ metadata: { name: "c1" }, spec: cl("c1", 1) }],
    });
    assert.deepEqual(plan.kubeClusters.apply, [placed]);
    assert.equal(plan.brokerCluster, undefined);
  });

  it("a cluster gone from the broker is removed locally; our endpoint removed locally is removed at the broker", () => {
    const plan = planSync({
      localCluster: cl("c1", 1),
      brokerEndpoints: [rec("c1", "old-cable", ep("c1", 1))],
      brokerClusters: [],
      kubeEndpoints: [obj(ep("c3", 3))],
      kubeClusters: [{ metadata: { name: "c3" }, spec: cl("c3", 3) }],
    });
    assert.deepEqual(plan.kubeEndpoints.delete, [view.endpointObjectName(ep("c3", 3))]);
    assert.deepEqual(plan.kubeClusters.delete, ["c3"]);
    assert.deepEqual(plan.brokerEndpoints.delete, ["old-cable"]);
  });

  it("records read back with their keys in another order are the same: nothing planned", () => {
    const reorder = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).reverse()) as T;
    const plan = planSync({
      localCluster: cl("c1", 1),
      brokerEndpoints: [rec("c2", ep("c2", 2).cable_name, reorder(ep("c2", 2))), rec("c1", ep("c1", 1).cable_name, reorder(ep("c1", 1)))],
      brokerClusters: [
        { ...rec("c2", "c2", reorder(cl("c2", 2))), kind: "cluster" as const },
        { ...rec("c1", "c1", reorder(cl("c1", 1))), kind: "cluster" as const },
      ],
      kubeEndpoints: [obj(ep("c1", 1)), obj(reorder(ep("c2", 2)))],
      kubeClusters: [
        { metadata: { name: "c1" }, spec: reorder(cl("c1", 1)) },
        { metadata: { name: "c2" }, spec: cl("c2", 2) },
      ],
    });
    assert.deepEqual(plan.kubeEndpoints.apply, []);
    assert.deepEqual(plan.kubeClusters.apply, []);
    assert.deepEqual(plan.brokerEndpoints.put, []);
    assert.equal(plan.brokerCluster, undefined);
  });
});
