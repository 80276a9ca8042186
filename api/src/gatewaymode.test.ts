import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { activeGateways, gatewayModeOf, gatewaySlotOf } from "./gatewaymode.ts";
import type { Endpoint } from "./resources.ts";

const ep = (host: string, config: Record<string, string> = {}): Endpoint => ({
  cluster_id: "c1",
  cable_name: `cable-${host}`,
  healthCheckIP: "",
  hostname: host,
  subnets: ["10.1.0.0/16"],
  private_ip: "198.18.1.10",
  public_ip: "",
  nat_enabled: false,
  backend: "vxlan",
  backend_config: config,
});
const aa = (host: string, slot: string) => ep(host, { "gateway-mode": "active-active", "gateway-slot": slot });

describe("gateway modes", () => {
  it("an Endpoint without a mode is active-passive; a slot counts only within 1–15", () => {
    assert.equal(gatewayModeOf(ep("n0")), "active-passive");
    assert.equal(gatewayModeOf(aa("n0", "1")), "active-active");
    assert.deepEqual(
      ["1", "15", "0", "16", "x", "2.5", ""].map((s) => gatewaySlotOf(aa("n0", s))),
      [1, 15, undefined, undefined, undefined, undefined, undefined],
    );
  });

  it("active-passive: the newest alone, also beside stale active-active ones", () => {
    assert.deepEqual(activeGateways(ep("n1"), [aa("n0", "1"), ep("n1")]), [ep("n1")]);
    assert.deepEqual(activeGateways(undefined, [ep("n1")]), []);
  });

  it("active-active: every active-active Endpoint with a slot, by slot; a slot two claim is the newest's; others left out", () => {
    const all = [aa("n2", "2"), aa("n0", "3"), aa("n1", "1"), ep("n5"), aa("n4", "x"), aa("n3", "2")];
    assert.deepEqual(
      activeGateways(aa("n3", "2"), all).map((e) => e.hostname),
      ["n1", "n3", "n0"],
    );
  });
});
