/**
 * Kubernetes tier on real nodes with the scale-out broker: a 3-node NATS cluster (JetStream,
 * user/password, TLS) on the underlay, `deploy-broker --backend nats` as a user runs it (three
 * broker pods from its Deployment behind its NodePort, TLS to members), two member clusters
 * joined. The broker pod serving most of a member's connections is killed: the data path is
 * untouched, the members move to another replica, and an export made then still reaches the
 * other cluster. Needs root.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { kube } from "@causeway/common";
import { BROKER_NAMESPACE } from "@causeway/deploy";
import { alive, Lab, podPids, until } from "@causeway/lab";
import { assertPodReaches } from "../dataplane/checks.ts";
import { upConnected } from "../fixture.ts";

const root = process.getuid?.() === 0;
const NAME = "cwkn";

interface Pod {
  metadata: kube.ObjectMeta;
  status?: { podIP?: string; containerStatuses?: { ready: boolean; restartCount: number }[] };
}

describe(
  "kube tier on real nodes with the NATS broker backend (3 broker pods from deploy-broker)",
  { skip: root ? false : "needs root", timeout: 600_000 },
  () => {
    let lab: Lab;
    before(async () => {
      lab = await upConnected({ name: NAME, clusters: 2, nodes: 2, kube: true, brokerBackend: "nats", brokerReplicas: 3 }, 90_000);
    });
    after(async () => {
      await Lab.down(NAME);
    });

    const brokerPods = async (): Promise<Pod[]> => {
      const c = await lab.kubeClient("c1");
      try {
        return (await c.list<Pod>(kube.R.pod, BROKER_NAMESPACE)).items;
      } finally {
        c.close();
      }
    };

    it("deploy-broker renders three replicas on the NATS bucket with TLS, all running; members dial its NodePort", async () => {
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
        assert.match(cm.data.brokerAddress ?? "", /^198\.18\.1\.10:3\d{4}$/);
      } finally {
        c.close();
      }
      const pods = await brokerPods();
      assert.equal(pods.filter((p) => p.status?.containerStatuses?.[0]?.ready).length, 3, JSON.stringify(pods.map((p) => p.status)));
    });

    it("the broker pod serving most of c2's connections is killed: the data path is untouched and an export made then reaches the other cluster", async () => {
      // c2's connections (its gateway and lighthouse, masqueraded at its gateway node) arrive at c1's
      // gateway node's NodePort; conntrack there says which broker pod kube-proxy sent each to.
      const port = lab.state.broker.address.split(":")[1] ?? "";
      const ct = await lab.exec("c1/n0", ["conntrack", "-L", "-p", "tcp", "--orig-src", "198.18.2.10", "--orig-port-dst", port]);
      const served = new Map<string, number>();
      for (const m of ct.stdout.matchAll(/ESTABLISHED src=198\.18\.2\.10 dst=\S+ sport=\d+ dport=\d+ src=(\S+) /g))
        served.set(m[1] ?? "", (served.get(m[1] ?? "") ?? 0) + 1);
      const busiest = [...served.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
      assert.ok(busiest, `c2's connections to the broker at c1/n0:${port}: ${ct.stdout}${ct.stderr}`);
      const pod = (await brokerPods()).find((p) => p.status?.podIP === busiest);
      assert.ok(pod, `a broker pod at ${busiest}`);
      const pid = (await podPids(lab, "c1")).find((p) => p.pod === pod.metadata.name)?.pid;
      assert.ok(pid);
      process.kill(pid, "SIGKILL");
      await until("the broker container killed", async () => (alive(pid) ? undefined : true), 5000);
      await assertPodReaches(lab, "c1/n1/p0", "c2/n1/p0");
      await lab.addService("c2/default/after", { pods: 1 });
      const c1 = await lab.kubeClient("c1");
      const c2 = await lab.kubeClient("c2");
      try {
        await c2.apply(kube.R.serviceExport, { metadata: { name: "after", namespace: "default" } }, { fieldManager: "e2e" });
        const t0 = performance.now();
        await until("c1 imports default/after", async () => ((await c1.find(kube.R.serviceImport, "default", "after")) ? true : undefined), 60_000);
        console.log(
          `# kube + NATS broker: ServiceImport in c1 ${Math.round(performance.now() - t0)} ms after the ServiceExport in c2, the busiest broker pod killed`,
        );
      } finally {
        c1.close();
        c2.close();
      }
    });
  },
);
