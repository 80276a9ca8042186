/**
 * Bad cluster configuration through the real mains in Kubernetes mode: a `causeway-config`
 * ConfigMap with an unknown key, a value of the wrong type or an unknown cable driver makes every
 * component refuse to start (exit 2), naming the key, the value and what is allowed, before it
 * touches the host (each runs in a fresh network namespace, checked afterwards). A real
 * kube-apiserver holds the objects. Needs root.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { SYSTEM_NAMESPACE } from "@causeway/api";
import { kube, ProcessRunner } from "@causeway/common";
import { applyManifests, crdManifests, waitCrdsEstablished } from "@causeway/deploy";
import { REPO_ROOT } from "@causeway/lab";
import { type KubeFixture, startKubeFixture } from "../kube/harness.ts";

const root = process.getuid?.() === 0;
const NS = `cwbadcm-${process.pid}`;
const run = new ProcessRunner(30_000);
const MAINS = {
  gateway: join(REPO_ROOT, "gateway/src/main.ts"),
  "route-agent": join(REPO_ROOT, "route-agent/src/main.ts"),
  lighthouse: join(REPO_ROOT, "lighthouse/src/main.ts"),
};
const GOOD = {
  clusterId: "c7",
  clusterCIDRs: "10.7.0.0/16",
  serviceCIDRs: "10.107.0.0/16",
  cableDriver: "vxlan",
  intraCluster: "vxlan",
  brokerAddress: "198.18.0.2:7400",
};

/** What Causeway could leave in the namespace: links beyond lo, its rules, tables and chains. Empty when untouched. */
async function hostState(): Promise<string> {
  const links = (await run.run("ip", ["-n", NS, "-o", "link", "show"])).stdout.split("\n").filter((l) => l && !/: lo:/.test(l));
  const rules = (await run.run("ip", ["-n", NS, "rule", "show"])).stdout.split("\n").filter((l) => /^(100|150):/.test(l));
  const chains = (await run.run("ip", ["netns", "exec", NS, "iptables-save"], { allowFailure: true })).stdout.split("\n").filter((l) => l.includes("CAUSEWAY"));
  return [...links, ...rules, ...chains].join("\n");
}

describe(
  "bad causeway-config: every component refuses to start, naming key, value and allowed values",
  { skip: root ? false : "needs root (API server and namespaces)", timeout: 300_000 },
  () => {
    let fx: KubeFixture;
    let client: kube.KubeClient;
    before(async () => {
      fx = await startKubeFixture("cwbadcm");
      client = await fx.client();
      const crds = crdManifests(kube.R);
      await applyManifests(client, crds);
      await waitCrdsEstablished(client, crds);
      await client.apply(kube.R.namespace, { metadata: { name: SYSTEM_NAMESPACE } }, { fieldManager: "test" });
      await client.apply(
        kube.R.secret,
        {
          metadata: { name: kube.BROKER_SECRET, namespace: SYSTEM_NAMESPACE },
          data: { token: Buffer.from("cwc.c7.not-a-real-secret").toString("base64") },
        } as kube.KubeObject,
        { fieldManager: "test" },
      );
      await run.run("ip", ["netns", "del", NS], { allowFailure: true });
      await run.run("ip", ["netns", "add", NS]);
    });
    after(async () => {
      await run.run("ip", ["netns", "del", NS], { allowFailure: true });
      await fx?.stop();
    });

    const cases: [string, Record<string, string>, RegExp][] = [
      [
        "an unknown key",
        { ...GOOD, healthCheckMaxPacketLoss: "3" },
        /unknown key healthCheckMaxPacketLoss; allowed keys: clusterId, .*healthCheckMaxPacketLossCount/,
      ],
      ["a wrong type", { ...GOOD, nattPort: "four-thousand" }, /key nattPort must be a UDP port \(1-65535\), got \\"four-thousand\\"/],
      ["a boolean that is not one", { ...GOOD, natt: "yes" }, /key natt must be true or false, got \\"yes\\"/],
      ["an unknown cable driver", { ...GOOD, cableDriver: "ipsec" }, /key cableDriver has unknown cable driver \\"ipsec\\"; allowed: vxlan, wireguard/],
    ];
    for (const [what, data, message] of cases) {
      it(`${what}: exit 2 from the gateway, the route agent and the lighthouse, the host untouched`, async () => {
        // Replace, not merge: the ConfigMap holds exactly this data.
        await client.delete(kube.R.configMap, SYSTEM_NAMESPACE, kube.CONFIG_MAP);
        await client.apply(kube.R.configMap, { metadata: { name: kube.CONFIG_MAP, namespace: SYSTEM_NAMESPACE }, data } as kube.KubeObject, {
          fieldManager: "test",
        });
        for (const [name, main] of Object.entries(MAINS)) {
          const r = await run.run(
            "ip",
            ["netns", "exec", NS, process.execPath, main, "--kube", "--kubeconfig", fx.kubeconfig(), "--node", "n0", "--metrics-port", "0"],
            {
              allowFailure: true,
              timeoutMs: 30_000,
            },
          );
          assert.equal(r.exitCode, 2, `${name}: ${r.stdout}${r.stderr}`);
          assert.match(r.stdout + r.stderr, message, name);
          assert.match(r.stdout + r.stderr, new RegExp(`${SYSTEM_NAMESPACE}/${kube.CONFIG_MAP}`), name);
        }
        assert.equal(await hostState(), "");
      });
    }
  },
);
