import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  type ClusterConfig,
  CLUSTER_CONFIG_KEYS,
  decodeClusterConfig,
  encodeClusterConfig,
  GATEWAY_DEFAULTS,
  GATEWAY_SETTINGS,
  gatewaySettingsFromFlags,
  healthCheckSettings,
  parseCableDriver,
  UnknownCableDriverError,
  ValidationError,
} from "./index.ts";

const base = {
  clusterId: "c1",
  clusterCIDRs: "10.1.0.0/16",
  serviceCIDRs: "10.101.0.0/16",
  cableDriver: "vxlan",
  intraCluster: "vxlan",
  brokerAddress: "b:7400",
};

describe("cluster configuration contract", () => {
  it("decodes a ConfigMap into typed values, with defaults for what join left out", () => {
    const c = decodeClusterConfig({ ...base, clusterCIDRs: "10.1.0.0/16, 10.3.0.0/16", nattPort: "4501", natt: "true", healthCheckInterval: "0.5" });
    assert.deepEqual(c.clusterCIDRs, ["10.1.0.0/16", "10.3.0.0/16"]);
    assert.equal(c.nattPort, 4501);
    assert.equal(c.natt, true);
    assert.equal(c.healthCheckInterval, 0.5);
    assert.equal(c.preferredServer, undefined, "absent settings stay absent: the gateway's defaults apply");
    const minimal = decodeClusterConfig({ clusterId: "c1", clusterCIDRs: "10.1.0.0/16", brokerAddress: "b:7400" });
    assert.deepEqual([minimal.cableDriver, minimal.intraCluster, minimal.serviceCIDRs], ["vxlan", "vxlan", []]);
  });

  it("encode and decode round-trip every key", () => {
    const c: ClusterConfig = {
      clusterId: "east",
      clusterCIDRs: ["10.1.0.0/16"],
      serviceCIDRs: ["10.101.0.0/16", "10.102.0.0/16"],
      globalCIDRs: ["242.3.0.0/16"],
      cableDriver: "wireguard",
      intraCluster: "direct",
      brokerAddress: "a:7400,b:7400",
      uninstalling: false,
      gatewayMode: "active-active",
      ...GATEWAY_DEFAULTS,
    };
    const data = encodeClusterConfig(c);
    assert.deepEqual(Object.keys(data).sort(), [...CLUSTER_CONFIG_KEYS].sort());
    assert.ok(Object.values(data).every((v) => typeof v === "string"));
    assert.deepEqual(decodeClusterConfig(data), c);
  });

  it("refuses an unknown key, naming it and the allowed keys", () => {
    assert.throws(
      () => decodeClusterConfig({ ...base, healthCheckMaxPacketLoss: "3" }, "causeway-system/causeway-config"),
      (e) =>
        e instanceof ValidationError &&
        e.exitCode === 2 &&
        /causeway-system\/causeway-config: unknown key healthCheckMaxPacketLoss; allowed keys: .*healthCheckMaxPacketLossCount/.test(e.message),
    );
  });

  it("refuses a wrong type, naming the key, the value and what is allowed", () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ natt: "yes" }, /key natt must be true or false, got "yes"/],
      [{ nattPort: "70000" }, /key nattPort must be a UDP port \(1-65535\), got 70000/],
      [{ nattPort: "x" }, /key nattPort must be a UDP port \(1-65535\), got "x"/],
      [{ healthCheckInterval: "0" }, /key healthCheckInterval must be a number of seconds, at least 0.1/],
      [{ healthCheckMaxPacketLossCount: "1.5" }, /key healthCheckMaxPacketLossCount must be a whole number ≥ 1, got 1.5/],
      [{ clusterCIDRs: "10.1.0.1/16" }, /key clusterCIDRs has "10.1.0.1\/16"; allowed: IPv4 CIDRs/],
      [{ clusterId: "C_1" }, /key clusterId has "C_1"; allowed: a DNS-1123 label/],
      [{ intraCluster: "tunnel" }, /key intraCluster has "tunnel"; allowed: vxlan, direct/],
      [{ uninstalling: "1" }, /key uninstalling must be true or false, got "1"/],
      [{ gatewayMode: "active-standby" }, /key gatewayMode has "active-standby"; allowed: active-passive, active-active/],
    ];
    for (const [change, message] of cases) {
      assert.throws(
        () => decodeClusterConfig({ ...base, ...change }),
        (e) => e instanceof ValidationError && message.test(e.message),
        JSON.stringify(change),
      );
    }
  });

  it("refuses an unknown cable driver with the allowed ones, as UnknownCableDriverError (exit 2)", () => {
    assert.throws(
      () => decodeClusterConfig({ ...base, cableDriver: "ipsec" }),
      (e) =>
        e instanceof UnknownCableDriverError &&
        e.exitCode === 2 &&
        /key cableDriver has unknown cable driver "ipsec"; allowed: vxlan, wireguard/.test(e.message),
    );
    assert.equal(parseCableDriver("wireguard"), "wireguard");
    assert.throws(() => parseCableDriver("ipsec"), /unknown cable driver "ipsec"; supported: vxlan, wireguard/);
  });

  it("refuses a ConfigMap missing a required key", () => {
    assert.throws(() => decodeClusterConfig({ clusterId: "c1", clusterCIDRs: "10.1.0.0/16" }), /key brokerAddress is missing; re-run 'causeway join'/);
  });

  it("flags decode by the same rules, named by their flags; only given ones are returned", () => {
    const flags: Record<string, string | boolean> = { natt: true, nattport: "4502", "health-check": "false", "health-check-max-packet-loss-count": "3" };
    assert.deepEqual(
      gatewaySettingsFromFlags((f) => flags[f]),
      { natt: true, nattPort: 4502, healthCheck: false, healthCheckMaxPacketLossCount: 3 },
    );
    assert.throws(() => gatewaySettingsFromFlags((f) => (f === "health-check" ? "maybe" : undefined)), /--health-check must be true or false, got "maybe"/);
    assert.throws(() => gatewaySettingsFromFlags((f) => (f === "nattport" ? "0" : undefined)), /--nattport must be a UDP port \(1-65535\), got 0/);
    assert.deepEqual(
      Object.values(GATEWAY_SETTINGS).map((s) => s.flag),
      ["natt", "air-gapped", "nattport", "preferred-server", "health-check", "health-check-interval", "health-check-max-packet-loss-count"],
      "subctl's flag names",
    );
  });

  it("health-check settings are checked with the flag names in the message", () => {
    assert.deepEqual(healthCheckSettings({ healthCheckInterval: 0.1, healthCheckMaxPacketLossCount: 1 }), {
      healthCheckInterval: 0.1,
      healthCheckMaxPacketLossCount: 1,
    });
    assert.throws(
      () => healthCheckSettings({ healthCheckInterval: 0.05, healthCheckMaxPacketLossCount: 5 }),
      /--health-check-interval must be a number of seconds, at least 0.1/,
    );
    assert.throws(
      () => healthCheckSettings({ healthCheckInterval: 1, healthCheckMaxPacketLossCount: 0 }),
      /--health-check-max-packet-loss-count must be a whole number ≥ 1, got 0/,
    );
  });
});
