import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ValidationError } from "@causeway/api";
import { upOptions } from "./options.ts";

describe("lab up options", () => {
  it("defaults: 2 clusters × 3 nodes, VXLAN, the single SQLite broker", () => {
    const o = upOptions({});
    assert.equal(o.name, "cw");
    assert.equal(o.clusters, 2);
    assert.equal(o.nodes, 3);
    assert.equal(o.cable, "vxlan");
    assert.equal(o.brokerReplicas, undefined);
  });

  it("options of standalone labs are refused with --kube, saying why", () => {
    assert.throws(
      () => upOptions({ kube: true, deferDns: true }),
      (e: Error) => e instanceof ValidationError && /deferDns takes standalone labs/.test(e.message),
    );
    assert.throws(
      () => upOptions({ kube: true, healthCheckInterval: 0.5 }),
      (e: Error) => e instanceof ValidationError && /--health-check-\* take standalone labs/.test(e.message),
    );
    assert.throws(
      () => upOptions({ kube: true, dnsAnswer: "cluster-ip" }),
      (e: Error) => e instanceof ValidationError && /dnsAnswer takes standalone labs/.test(e.message),
    );
    assert.doesNotThrow(() => upOptions({ deferDns: true }));
  });

  it("--gateway-mode: active-passive by default; active-active on standalone labs (both cables, globalnet too) and the Kubernetes tier; unknown modes refused, saying why", () => {
    assert.equal(upOptions({}).gatewayMode, "active-passive");
    assert.equal(upOptions({ gateways: 2, gatewayMode: "active-active" }).gatewayMode, "active-active");
    const refused = (o: Parameters<typeof upOptions>[0], why: RegExp) =>
      assert.throws(
        () => upOptions(o),
        (e: Error) => e instanceof ValidationError && why.test(e.message),
      );
    refused({ gatewayMode: "both" as "active-active" }, /--gateway-mode both: supported: active-passive, active-active/);
    assert.equal(upOptions({ gateways: 2, gatewayMode: "active-active", kube: true }).gatewayMode, "active-active");
    assert.equal(upOptions({ gateways: 2, gatewayMode: "active-active", cable: "wireguard" }).gatewayMode, "active-active");
    assert.equal(upOptions({ gateways: 2, gatewayMode: "active-active", globalnet: true }).gatewayMode, "active-active");
  });

  it("dnsAnswer: lighthouse's --answer, nothing by default, refused when unknown", () => {
    assert.deepEqual(upOptions({}).lighthouseFlags, []);
    assert.deepEqual(upOptions({ dnsAnswer: "cluster-ip" }).lighthouseFlags, ["--answer", "cluster-ip"]);
    assert.throws(
      () => upOptions({ dnsAnswer: "both" as "cluster-ip" }),
      (e: Error) => e instanceof ValidationError && /dnsAnswer both: supported: clusterset-ip, cluster-ip/.test(e.message),
    );
  });

  it("the Kubernetes tier's options take --kube, a known kube-proxy mode, and c1 (the broker's cluster) not behind NAT, saying so", () => {
    const refused = (o: Parameters<typeof upOptions>[0], re: RegExp) =>
      assert.throws(
        () => upOptions(o),
        (e: Error) => e instanceof ValidationError && re.test(e.message),
      );
    refused({ kubeProxyMode: "nftables" }, /--kube-proxy-mode takes --kube/);
    refused({ install: false }, /install: false takes --kube/);
    refused({ kube: true, kubeProxyMode: "ipvs" as "iptables" }, /--kube-proxy-mode ipvs: supported: iptables, nftables/);
    refused({ kube: true, nat: ["c1"] }, /c1 holds the broker/);
    refused({ cni: "flannel" }, /--cni takes --kube/);
    refused({ kube: true, cni: "calico" as "flannel" }, /--cni calico: supported: bridge, flannel/);
    assert.doesNotThrow(() => upOptions({ kube: true, cni: "flannel" }));
    // 2 clusters × 2 nodes by default on the Kubernetes tier, 3 nodes standalone; --nodes 3 works on either.
    assert.equal(upOptions({ kube: true }).nodes, 2);
    assert.equal(upOptions({}).nodes, 3);
    assert.equal(upOptions({ kube: true, nodes: 3 }).nodes, 3);
    assert.doesNotThrow(() => upOptions({ kube: true, kubeProxyMode: "nftables", nat: ["c2"] }));
    assert.doesNotThrow(() => upOptions({ kube: true, brokerBackend: "nats", brokerReplicas: 3 }));
  });
});
