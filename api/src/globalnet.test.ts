import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { allocateGlobalIp, globalAddresses, globalIngressCapacity, isGlobalIngressIp } from "./globalnet.ts";

describe("a cluster's global CIDR", () => {
  it("the health-check address first, then the egress pool of eight, the last sixteenth for namespaces' egress pools, the rest for ingress (the last address never)", () => {
    const a = globalAddresses("242.3.0.0/16");
    assert.ok(a);
    assert.equal(a.healthCheckIP, "242.3.0.1");
    assert.deepEqual(a.egressIPs, ["242.3.0.2", "242.3.0.3", "242.3.0.4", "242.3.0.5", "242.3.0.6", "242.3.0.7", "242.3.0.8", "242.3.0.9"]);
    assert.equal(globalIngressCapacity("242.3.0.0/16"), 65536 - 11 - 4096);
    assert.equal(a.namespaceEgressFirst, a.ingressLast + 1);
    assert.equal(a.namespaceEgressLast - a.namespaceEgressFirst + 1, 4096);
    assert.equal(isGlobalIngressIp("242.3.0.0/16", "242.3.239.254"), true, "the last ingress address");
    assert.equal(isGlobalIngressIp("242.3.0.0/16", "242.3.239.255"), false, "namespaces' egress pools");
    assert.equal(isGlobalIngressIp("242.3.0.0/16", "242.3.0.9"), false, "egress pool");
    assert.equal(isGlobalIngressIp("242.3.0.0/16", "242.3.0.10"), true);
    assert.equal(isGlobalIngressIp("242.3.0.0/16", "242.3.255.255"), false, "the last address");
    assert.equal(globalAddresses("242.3.0.0/29"), undefined, "smaller than a /28");
  });

  it("allocates ingress addresses from a place derived from the key, skipping taken ones, until the CIDR is full", () => {
    const first = allocateGlobalIp("242.3.0.0/28", "default/web", new Set());
    assert.ok(first && isGlobalIngressIp("242.3.0.0/28", first));
    assert.equal(allocateGlobalIp("242.3.0.0/28", "default/web", new Set()), first, "the same key, the same address");
    const taken = new Set<string>();
    for (let i = 0; i < 4; i++) taken.add(allocateGlobalIp("242.3.0.0/28", `k${i}`, taken) ?? "");
    assert.deepEqual([...taken].sort(), ["242.3.0.10", "242.3.0.11", "242.3.0.12", "242.3.0.13"], "242.3.0.14 is the namespaces' egress pool");
    assert.equal(allocateGlobalIp("242.3.0.0/28", "one-more", taken), undefined);
  });
});
