import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Endpoint } from "@causeway/api";
import { kube, silentLogger } from "@causeway/common";
import { GATEWAY_LEASE } from "./kube.ts";
import { kubeEndpointLease, kubeSlotLease, staleKubeEndpoint } from "./kubeactive.ts";

const ep = (hostname: string, config: Record<string, string>): Endpoint =>
  ({ cluster_id: "c1", cable_name: `vxlan-c1-${hostname}`, hostname, backend_config: config }) as unknown as Endpoint;

describe("kube active-active gateways (pure)", () => {
  it("an Endpoint lives by its slot's Lease; one without a slot (active-passive) by the cluster's election Lease", () => {
    assert.equal(kubeEndpointLease(ep("n0", { "gateway-mode": "active-active", "gateway-slot": "3" })), kubeSlotLease(3));
    assert.equal(kubeSlotLease(3), "causeway-gateway-slot-3");
    assert.equal(kubeEndpointLease(ep("n0", {})), GATEWAY_LEASE);
    assert.equal(kubeEndpointLease(ep("n0", { "gateway-mode": "active-active", "gateway-slot": "99" })), GATEWAY_LEASE);
  });

  it("stale: its Lease absent, free, or held by another node's gateway; live: held by its own", () => {
    const e = ep("n1", { "gateway-mode": "active-active", "gateway-slot": "2" });
    assert.match(staleKubeEndpoint(e, undefined) ?? "", /causeway-gateway-slot-2 does not exist/);
    assert.match(staleKubeEndpoint(e, { holder: "n1-causeway-gateway", free: true }) ?? "", /is free/);
    assert.match(staleKubeEndpoint(e, { holder: "n2-causeway-gateway", free: false }) ?? "", /held by n2-causeway-gateway/);
    assert.equal(staleKubeEndpoint(e, { holder: "n1-causeway-gateway", free: false }), undefined);
  });
});

describe("Lease elector: observations from elsewhere (seen) and free", () => {
  it("free when never seen or without a holder; held while its record changes; free once unchanged for its duration as observed", () => {
    let now = 0;
    const e = new kube.LeaseElector({
      client: undefined as unknown as kube.KubeClient,
      namespace: "ns",
      name: "l",
      identity: "me",
      leaseDurationMs: 1000,
      renewDeadlineMs: 750,
      retryPeriodMs: 200,
      log: silentLogger(),
      onStartedLeading: () => undefined,
      onStoppedLeading: () => undefined,
      now: () => now,
    });
    const lease = (renewTime: string, holderIdentity = "other") => ({ metadata: { name: "l" }, spec: { holderIdentity, leaseDurationSeconds: 1, renewTime } });
    assert.equal(e.free, true);
    e.seen(lease("t1"));
    assert.equal(e.free, false);
    now = 900;
    e.seen(lease("t2")); // renewed: observed again
    now = 1800;
    e.seen(lease("t2"));
    assert.equal(e.free, false, "unchanged for 900 ms only");
    now = 1900;
    assert.equal(e.free, true, "unchanged for its whole duration");
    e.seen({ metadata: { name: "other-lease" }, spec: { holderIdentity: "x", renewTime: "t9", leaseDurationSeconds: 1 } });
    assert.equal(e.free, true, "another Lease's record is not this one's");
    e.seen(lease("t3", ""));
    assert.equal(e.free, true, "released: no holder");
  });
});
