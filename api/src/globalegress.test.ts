import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { allocateEgressPools, type EgressPoolRequest, isNamespaceEgressIp, poolAddressFor, selects } from "./globalegress.ts";

const req = (name: string, numberOfIPs: number, createdAt: string, allocated: string[] = []): EgressPoolRequest => ({
  namespace: "tenant",
  name,
  numberOfIPs,
  createdAt,
  allocated,
});

describe("per-namespace egress pools (GlobalEgressIP)", () => {
  it("label selectors as Kubernetes reads them: matchLabels and every operator; no selector selects all", () => {
    assert.equal(selects(undefined, { app: "x" }), true);
    assert.equal(selects({ matchLabels: { app: "x" } }, { app: "x", tier: "a" }), true);
    assert.equal(selects({ matchLabels: { app: "x" } }, { app: "y" }), false);
    assert.equal(selects({ matchExpressions: [{ key: "tier", operator: "In", values: ["a", "b"] }] }, { tier: "b" }), true);
    assert.equal(selects({ matchExpressions: [{ key: "tier", operator: "In", values: ["a"] }] }, {}), false);
    assert.equal(selects({ matchExpressions: [{ key: "tier", operator: "NotIn", values: ["a"] }] }, {}), true);
    assert.equal(selects({ matchExpressions: [{ key: "tier", operator: "NotIn", values: ["a"] }] }, { tier: "a" }), false);
    assert.equal(selects({ matchExpressions: [{ key: "tier", operator: "Exists" }] }, { tier: "" }), true);
    assert.equal(selects({ matchExpressions: [{ key: "tier", operator: "DoesNotExist" }] }, { tier: "" }), false);
  });

  it("pools come from the last sixteenth of the global CIDR, distinct, the same for the same name; a held status is kept", () => {
    const pools = allocateEgressPools("242.3.0.0/16", [req("a", 3, "2026-01-01T00:00:00Z"), req("b", 2, "2026-01-02T00:00:00Z")]);
    const a = pools.get("tenant/a")?.ips ?? [];
    const b = pools.get("tenant/b")?.ips ?? [];
    assert.equal(a.length, 3);
    assert.equal(b.length, 2);
    for (const ip of [...a, ...b]) assert.ok(isNamespaceEgressIp("242.3.0.0/16", ip), ip);
    assert.equal(new Set([...a, ...b]).size, 5);
    assert.deepEqual(allocateEgressPools("242.3.0.0/16", [req("a", 3, "2026-01-03T00:00:00Z")]).get("tenant/a")?.ips, a, "made again: the same addresses");
    const held = ["242.3.250.1", "242.3.250.2", "242.3.250.3"];
    assert.deepEqual(allocateEgressPools("242.3.0.0/16", [req("a", 3, "2026-01-01T00:00:00Z", held)]).get("tenant/a")?.ips, held);
  });

  it("a held status out of the range, of another count, or an older object's is given anew", () => {
    const older = req("old", 1, "2026-01-01T00:00:00Z", ["242.3.250.1"]);
    const clash = allocateEgressPools("242.3.0.0/16", [req("new", 1, "2026-01-02T00:00:00Z", ["242.3.250.1"]), older]);
    assert.deepEqual(clash.get("tenant/old")?.ips, ["242.3.250.1"]);
    assert.notDeepEqual(clash.get("tenant/new")?.ips, ["242.3.250.1"]);
    assert.equal(clash.get("tenant/new")?.ips.length, 1);
    const ingress = allocateEgressPools("242.3.0.0/16", [req("a", 1, "t", ["242.3.0.20"])]).get("tenant/a")?.ips ?? [];
    assert.ok(isNamespaceEgressIp("242.3.0.0/16", ingress[0] ?? ""), "an ingress address is not kept");
    assert.equal(allocateEgressPools("242.3.0.0/16", [req("a", 2, "t", ["242.3.250.1"])]).get("tenant/a")?.ips.length, 2);
  });

  it("a range that cannot fill an object: none for it, the message names the range, what is free and what was asked", () => {
    // A /28: one namespace egress address (242.3.0.14).
    const pools = allocateEgressPools("242.3.0.0/28", [req("a", 1, "2026-01-01T00:00:00Z"), req("b", 1, "2026-01-02T00:00:00Z")]);
    assert.deepEqual(pools.get("tenant/a"), { ips: ["242.3.0.14"], message: "" });
    assert.deepEqual(pools.get("tenant/b")?.ips, []);
    assert.match(
      pools.get("tenant/b")?.message ?? "",
      /^the namespaces' egress range of 242\.3\.0\.0\/28 \(242\.3\.0\.14-242\.3\.0\.14, 1 addresses\) has 0 free, 1 asked/,
    );
  });

  it("each pod keeps one pool address, and pods spread over the pool", () => {
    const pool = ["242.3.250.1", "242.3.250.2"];
    assert.equal(poolAddressFor("10.244.1.10", pool), poolAddressFor("10.244.1.10", pool));
    assert.deepEqual(new Set(["10.244.1.10", "10.244.1.11"].map((p) => poolAddressFor(p, pool))), new Set(pool));
    assert.equal(poolAddressFor("10.244.1.10", []), undefined);
  });
});
