import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { latencyLine, throughputLine } from "./benchmark.ts";
import { slicesVerdict, testPod } from "./testpods.ts";

describe("test pods of the CLI's checks on real clusters", () => {
  it("a client runs once on a node without the gateway label when it can; a server restarts and is ready once its port accepts", () => {
    const client = testPod({ name: "client", namespace: "causeway-x", image: "causeway:1", script: "s", args: ["a"], role: "client" });
    assert.equal(client.spec.restartPolicy, "Never");
    assert.deepEqual(client.spec.containers[0]?.command, ["node", "-e", "s", "a"]);
    assert.deepEqual(client.metadata.labels, { "app.kubernetes.io/part-of": "causeway-x", "causeway-x/role": "client" });
    assert.match(JSON.stringify(client.spec), /"key":"causeway.io\/gateway","operator":"DoesNotExist"/);
    assert.equal((client.spec as { hostNetwork?: boolean }).hostNetwork, undefined);
    const server = testPod({ name: "server", namespace: "causeway-x", image: "causeway:1", script: "s", role: "server", readyPort: 5201 });
    assert.equal(server.spec.restartPolicy, "Always");
    assert.deepEqual((server.spec.containers[0] as { readinessProbe?: unknown }).readinessProbe, { tcpSocket: { port: 5201 }, periodSeconds: 1 });
  });

  it("a pod pinned to a gateway node: its node, the host network, the capabilities it asks for, ready on its file", () => {
    const p = testPod({
      ...{ name: "counter", namespace: "causeway-diagnose", image: "causeway:1", script: "s", role: "counter" },
      ...{ node: "n0", hostNetwork: true, capabilities: ["NET_ADMIN"], readyFile: "/tmp/ready" },
    });
    const spec = p.spec as { nodeName?: string; hostNetwork?: boolean; affinity?: unknown };
    assert.equal(spec.nodeName, "n0");
    assert.equal(spec.affinity, undefined);
    assert.equal(spec.hostNetwork, true);
    const c = p.spec.containers[0] as { securityContext?: unknown; readinessProbe?: unknown };
    assert.deepEqual(c.securityContext, { capabilities: { add: ["NET_ADMIN"] } });
    assert.deepEqual(c.readinessProbe, { exec: { command: ["test", "-e", "/tmp/ready"] }, periodSeconds: 1 });
  });

  it("benchmark lines: ping's summary, the receiver's count; a failed run says why", () => {
    const ping =
      "--- 10.2.1.5 ping statistics ---\n20 packets transmitted, 20 received, 0% packet loss, time 3804ms\nrtt min/avg/max/mdev = 0.081/0.120/0.207/0.030 ms\n";
    assert.equal(latencyLine("a → b", ping), "latency a → b, 20 pings: min 0.081 ms  avg 0.120 ms  max 0.207 ms  mdev 0.030 ms  loss 0%");
    assert.throws(() => latencyLine("a → b", "ping: sendmsg: Operation not permitted"), /ping a → b failed: ping: sendmsg: Operation not permitted/);
    assert.equal(throughputLine("a → b", { bytes: 1_250_000_000, ms: 5000 }), "throughput a → b, TCP 5 s: 2.00 Gbit/s received (1192 MiB)");
    assert.throws(() => throughputLine("a → b", { error: "ECONNREFUSED" }), /TCP a → b failed: ECONNREFUSED/);
  });

  it("a Service's EndpointSlices: ready once one endpoint is; otherwise they say what they hold", () => {
    assert.equal(slicesVerdict([]), "no EndpointSlice");
    assert.equal(slicesVerdict([{ endpoints: [] }]), "0 endpoint(s), none ready");
    assert.equal(
      slicesVerdict([{ endpoints: [{ addresses: ["10.0.0.1"], conditions: { ready: false } }, { addresses: ["10.0.0.2"] }] }]),
      "2 endpoint(s), none ready",
    );
    assert.equal(slicesVerdict([{ endpoints: [{ conditions: { ready: false } }] }, { endpoints: [{ conditions: { ready: true } }] }]), undefined);
  });
});
