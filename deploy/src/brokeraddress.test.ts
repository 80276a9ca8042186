import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ValidationError } from "@causeway/api";
import { givenAddress, type NodeObject, nodePortAddress, parseServiceType, servicePort } from "./brokeraddress.ts";
import { BROKER_SERVICE_TYPES } from "./manifests.ts";

const nodePort = { spec: { type: "NodePort", ports: [{ port: 7400, nodePort: 31234 }] } };
const node = (name: string, addrs: Record<string, string>, ready = true): NodeObject => ({
  metadata: { name },
  status: {
    addresses: Object.entries(addrs).map(([type, address]) => ({ type, address })),
    conditions: [{ type: "Ready", status: ready ? "True" : "False" }],
  },
});

describe("deploy-broker: the broker's address", () => {
  it("members dial the NodePort on a NodePort Service, the Service port otherwise", () => {
    assert.equal(servicePort(nodePort), 31234);
    assert.equal(servicePort({ spec: { type: "ClusterIP", ports: [{ port: 7400 }] } }), 7400);
    assert.equal(servicePort({ spec: { type: "LoadBalancer", ports: [{ port: 7400, nodePort: 30001 }] } }), 7400);
  });

  it("--broker-url: host:port and replica lists as given; a host alone takes the Service's port", () => {
    assert.deepEqual(givenAddress("203.0.113.10:7400", nodePort), { url: "203.0.113.10:7400", how: "--broker-url" });
    assert.deepEqual(givenAddress("198.18.0.2:7400,198.18.0.3:7400", nodePort).url, "198.18.0.2:7400,198.18.0.3:7400");
    assert.equal(givenAddress("203.0.113.10", nodePort).url, "203.0.113.10:31234");
    assert.equal(givenAddress("broker.example.com", { spec: { type: "ClusterIP", ports: [{ port: 7400 }] } }).url, "broker.example.com:7400");
    assert.match(givenAddress("203.0.113.10", nodePort).how, /NodePort/);
  });

  it("a NodePort's addresses: up to three nodes' ExternalIPs, else InternalIPs; Ready nodes first, then by name", () => {
    const a = nodePortAddress([node("b", { InternalIP: "10.0.0.2" }), node("a", { InternalIP: "10.0.0.1" })], 31234);
    assert.deepEqual(a, { url: "10.0.0.1:31234,10.0.0.2:31234", how: "nodes a, b's InternalIPs, the Service's NodePort" });
    assert.deepEqual(nodePortAddress([node("a", { InternalIP: "10.0.0.1" })], 31234), {
      url: "10.0.0.1:31234",
      how: "node a's InternalIP, the Service's NodePort",
    });
    // At most three, Ready ones first: one node's failure leaves members other addresses, a big cluster does not list them all.
    const many = ["e", "d", "c", "b", "a"].map((n, i) => node(n, { InternalIP: `10.0.0.${10 + i}` }, n !== "a"));
    assert.equal(nodePortAddress(many, 1)?.url, "10.0.0.13:1,10.0.0.12:1,10.0.0.11:1");
    assert.equal(
      nodePortAddress([node("a", { InternalIP: "10.0.0.1" }), node("z", { InternalIP: "10.0.0.9", ExternalIP: "203.0.113.9" })], 31234)?.url,
      "203.0.113.9:31234",
    );
    assert.equal(nodePortAddress([node("a", { InternalIP: "10.0.0.1" }, false), node("b", { InternalIP: "10.0.0.2" })], 1)?.url, "10.0.0.2:1,10.0.0.1:1");
    assert.equal(nodePortAddress([node("a", { InternalIP: "fd00::1" })], 31234)?.url, "[fd00::1]:31234");
    assert.equal(nodePortAddress([node("a", { Hostname: "a" })], 31234), undefined);
  });

  it("--service-type takes NodePort, LoadBalancer, ClusterIP (any case), and names them otherwise", () => {
    assert.equal(parseServiceType("nodeport", BROKER_SERVICE_TYPES), "NodePort");
    assert.equal(parseServiceType("LoadBalancer", BROKER_SERVICE_TYPES), "LoadBalancer");
    assert.throws(
      () => parseServiceType("ExternalName", BROKER_SERVICE_TYPES),
      (e: Error) => e instanceof ValidationError && /--service-type ExternalName: not one of NodePort, LoadBalancer, ClusterIP/.test(e.message),
    );
  });
});
