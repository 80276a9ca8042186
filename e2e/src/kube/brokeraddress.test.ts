/** deploy-broker's choice of the broker's address, against a real API server (no load-balancer controller, no kubelet). */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { kube } from "@causeway/common";
import { BROKER_NAMESPACE, brokerAddress } from "@causeway/deploy";
import { type KubeFixture, startKubeFixture } from "./harness.ts";

const root = process.getuid?.() === 0;
const FM = { fieldManager: "e2e" };

describe("deploy-broker: the broker's address from its Service (real API server)", { skip: root ? false : "needs root", timeout: 120_000 }, () => {
  let fx: KubeFixture;
  let client: kube.KubeClient;
  before(async () => {
    fx = await startKubeFixture("cwbad");
    client = await fx.client();
    await client.apply(kube.R.namespace, { metadata: { name: BROKER_NAMESPACE } }, FM);
  });
  after(async () => {
    await fx?.stop();
  });

  const service = (type: string) =>
    client.apply(
      kube.R.service,
      {
        metadata: { name: "causeway-broker", namespace: BROKER_NAMESPACE },
        ...{ spec: { type, selector: { a: "b" }, ports: [{ name: "grpc", port: 7400 }] } },
      },
      FM,
    );

  it("NodePort: a node's InternalIP with the port the API server allocated; no node address: an error naming --broker-url", async () => {
    await service("NodePort");
    await assert.rejects(brokerAddress(client, undefined), /no node of this cluster has an address .*--broker-url/);
    await client.apply(kube.R.node, { metadata: { name: "w1" } }, FM);
    await client.apply(
      kube.R.node,
      { metadata: { name: "w1" }, ...{ status: { addresses: [{ type: "InternalIP", address: "192.0.2.7" }] } } },
      { ...FM, sub: "status" },
    );
    const svc = await client.get<{ spec: { ports: { nodePort: number }[] } }>(kube.R.service, BROKER_NAMESPACE, "causeway-broker");
    const port = svc.spec.ports[0]?.nodePort ?? 0;
    assert.ok(port >= 30000 && port <= 32767, String(port));
    assert.deepEqual(await brokerAddress(client, undefined), { url: `192.0.2.7:${port}`, how: "node w1's InternalIP, the Service's NodePort" });
    assert.equal((await brokerAddress(client, "203.0.113.5")).url, `203.0.113.5:${port}`);
  });

  it("LoadBalancer: waits for the load balancer's address (bounded), then takes it", async () => {
    await service("LoadBalancer");
    const t0 = Date.now();
    await assert.rejects(brokerAddress(client, undefined, 1500), /no address after 1\.5 s .*--broker-url <host:port>, or --service-type NodePort/);
    assert.ok(Date.now() - t0 < 5000);
    const pending = brokerAddress(client, undefined, 20_000);
    await client.apply(
      kube.R.service,
      { metadata: { name: "causeway-broker", namespace: BROKER_NAMESPACE }, ...{ status: { loadBalancer: { ingress: [{ ip: "203.0.113.80" }] } } } },
      { ...FM, sub: "status" },
    );
    assert.deepEqual(await pending, { url: "203.0.113.80:7400", how: "the Service's load balancer" });
  });
});
