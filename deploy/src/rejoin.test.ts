/** Re-running join on a member: what its globalnet flags may and may not ask (rejoinConflict, pure); flags join refuses before reading anything. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Cluster } from "@causeway/api";
import { join, rejoinConflict } from "./join.ts";

const member = (global_cidr: string[]): Cluster => ({
  cluster_id: "c1",
  cluster_cidr: ["10.244.0.0/16"],
  service_cidr: ["10.96.0.0/12"],
  global_cidr,
  clusterset_ip_cidr: [],
});

describe("join again on a member (globalnet)", () => {
  it("the same flags, or none, change nothing and are fine", () => {
    assert.equal(rejoinConflict("c1", member(["242.1.0.0/16"]), {}), undefined);
    assert.equal(rejoinConflict("c1", member(["242.1.0.0/16"]), { globalnetCidr: "242.1.0.0/16" }), undefined);
    assert.equal(rejoinConflict("c1", member([]), { globalnet: false }), undefined);
  });

  it("another global CIDR, opting out, or a global CIDR at a plain broker: refused naming the flag, the member's CIDR and what to do", () => {
    assert.match(
      rejoinConflict("c1", member(["242.1.0.0/16"]), { globalnetCidr: "242.9.0.0/16" }) ?? "",
      /global CIDR 242\.1\.0\.0\/16: --globalnet-cidr 242\.9\.0\.0\/16 cannot move it; drop the flag, or uninstall Causeway from c1 \(causeway uninstall\) and join again/,
    );
    assert.match(rejoinConflict("c1", member(["242.1.0.0/16"]), { globalnet: false }) ?? "", /--globalnet=false cannot take it out of globalnet; uninstall/);
    assert.match(
      rejoinConflict("c1", member([]), { globalnetCidr: "242.9.0.0/16" }) ?? "",
      /without a global CIDR \(the broker does not run globalnet\): drop --globalnet-cidr 242\.9\.0\.0\/16/,
    );
  });
});

describe("join --gateway-mode", () => {
  it("refuses an unknown mode before reading anything, naming the supported ones", async () => {
    await assert.rejects(
      join({ brokerInfoFile: "/nonexistent/broker-info.subm", gatewayMode: "active-standby" }),
      (e) => e instanceof Error && /unknown gateway mode "active-standby"; supported: active-passive, active-active/.test(e.message),
    );
  });
});
