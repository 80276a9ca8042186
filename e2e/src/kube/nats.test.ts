/**
 * Kubernetes tier with the scale-out broker: a 3-node NATS cluster (JetStream, user/password,
 * TLS) on the underlay, `deploy-broker --backend nats` as a user runs it (three broker replicas
 * from its Deployment, TLS to members), two member clusters joined to all three addresses. The
 * replica the components use is killed: they move to another, and an export made then still
 * reaches the other cluster. Needs root.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { kube } from "@causeway/common";
import { BROKER_NAMESPACE } from "@causeway/deploy";
import { alive, Lab, until } from "@causeway/lab";
import { assertPodReaches } from "../dataplane/checks.ts";

const root = process.getuid?.() === 0;
const NAME = "cwkn";

describe("kube tier with the NATS broker backend (3 broker replicas from deploy-broker)", { skip: root ? false : "needs root", timeout: 600_000 }, () => {
  let lab: Lab;
  before(async () => {
    await Lab.down(NAME);
    lab = await Lab.up({ name: NAME, clusters: 2, nodes: 2, kube: true, brokerBackend: "nats", brokerReplicas: 3 });
    await lab.waitConnected(90_000);
  });
  after(async () => {
    await Lab.down(NAME);
  });

  it("deploy-broker renders three replicas on the NATS bucket with TLS; members dial all three addresses", async () => {
    const c = await lab.kubeClient("c1");
    try {
      const dep = await c.get<{ spec: { replicas: number; template: { spec: { containers: { command: string[] }[] } } } }>(
        kube.R.deployment,
        BROKER_NAMESPACE,
        "causeway-broker",
      );
      assert.equal(dep.spec.replicas, 3);
      const cmd = dep.spec.template.spec.containers[0]?.command.join(" ") ?? "";
      assert.match(
        cmd,
        /--backend nats --nats-servers nats:\/\/198\.18\.0\.11:4222,nats:\/\/198\.18\.0\.12:4222,nats:\/\/198\.18\.0\.13:4222 --nats-replicas 3/,
      );
      assert.match(cmd, /--nats-ca \/etc\/causeway\/nats\/ca\.crt[\s\S]*--tls-cert/);
      const cm = await c.get<{ data: Record<string, string> }>(kube.R.configMap, "causeway-system", kube.CONFIG_MAP);
      assert.equal(cm.data.brokerAddress, "198.18.0.2:7400,198.18.0.3:7400,198.18.0.4:7400");
    } finally {
      c.close();
    }
    assert.equal(lab.state.broker.ha?.replicas.filter((r) => r.process && alive(r.process.pid)).length, 3);
  });

  it("the broker replica the components use is killed: the data path is untouched and an export made then reaches the other cluster", async () => {
    const r1 = lab.state.broker.ha?.replicas[0]?.process;
    assert.ok(r1);
    process.kill(r1.pid, "SIGKILL");
    await until("replica 1 gone", async () => (alive(r1.pid) ? undefined : true), 5000);
    await assertPodReaches(lab, "c1/n1/p0", "c2/n1/p0");
    await lab.addService("c2/default/after", { pods: 1 });
    const c1 = await lab.kubeClient("c1");
    const c2 = await lab.kubeClient("c2");
    try {
      await c2.apply(kube.R.serviceExport, { metadata: { name: "after", namespace: "default" } }, { fieldManager: "e2e" });
      const t0 = performance.now();
      await until("c1 imports default/after", async () => ((await c1.find(kube.R.serviceImport, "default", "after")) ? true : undefined), 60_000);
      console.log(`# kube + NATS broker: ServiceImport in c1 ${Math.round(performance.now() - t0)} ms after the ServiceExport in c2, broker replica 1 down`);
    } finally {
      c1.close();
      c2.close();
    }
  });
});
