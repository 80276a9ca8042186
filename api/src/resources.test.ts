import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CausewayError, ClusterSchema, CompactedError, EndpointSchema, exportName, parseValue, UnavailableError, ValidationError } from "./index.ts";

const endpoint = {
  cluster_id: "c1",
  cable_name: "causeway-cable-c1-198-18-1-10",
  hostname: "n0",
  subnets: ["10.1.0.0/16"],
  private_ip: "198.18.1.10",
  backend: "vxlan",
};

describe("resource schemas", () => {
  it("accept Submariner-shaped records and fill defaults", () => {
    const e = EndpointSchema.parse(endpoint);
    assert.equal(e.public_ip, "");
    assert.equal(e.nat_enabled, false);
    assert.deepEqual(ClusterSchema.parse({ cluster_id: "c1", cluster_cidr: ["10.1.0.0/16"], service_cidr: [] }).global_cidr, []);
  });

  it("refuse unknown fields, bad addresses, an unknown backend and an empty pod CIDR list, naming the path", () => {
    const bad: [unknown, RegExp][] = [
      [{ ...endpoint, extra: 1 }, /extra/],
      [{ ...endpoint, private_ip: "198.18.1.300" }, /private_ip/],
      [{ ...endpoint, backend: "ipsec" }, /backend/],
      [{ ...endpoint, subnets: ["10.1.0.1/16"] }, /subnets\.0/],
      [{ ...endpoint, cluster_id: "Not_A_Label" }, /cluster_id/],
    ];
    for (const [value, path] of bad) {
      assert.throws(
        () => parseValue("endpoint", JSON.stringify(value)),
        (e) => e instanceof ValidationError && path.test(e.message),
        JSON.stringify(value),
      );
    }
    assert.throws(() => parseValue("cluster", JSON.stringify({ cluster_id: "c1", cluster_cidr: [], service_cidr: [] })), /at least one pod CIDR/);
    assert.throws(() => parseValue("cluster", "{not json"), ValidationError);
  });

  it("export record names are namespace.name", () => {
    assert.equal(exportName("default", "web"), "default.web");
  });
});

describe("errors", () => {
  it("carry an exit code: 2 for refused input, 1 for failures", () => {
    assert.equal(new ValidationError("x").exitCode, 2);
    assert.equal(new UnavailableError("x").exitCode, 1);
    assert.equal(new CompactedError("x", 3).exitCode, 1);
    assert.ok(new ValidationError("x") instanceof CausewayError);
  });
});
