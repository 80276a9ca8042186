/**
 * The Kubernetes tier on real nodes with kube-proxy in nftables mode and WireGuard cables: pod ↔
 * pod and a Service of the other cluster, sources kept (the route agent's source guard);
 * wireguard-go runs from /dev/net/tun in a gateway container that is not privileged.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { SYSTEM_NAMESPACE } from "@causeway/api";
import { join } from "node:path";
import { kube, ProcessRunner } from "@causeway/common";
import { Lab, REPO_ROOT, until } from "@causeway/lab";
import { assertPodReaches } from "../dataplane/checks.ts";
import { upConnected } from "../fixture.ts";
import { variantScenarios } from "../dataplane/scenarios.ts";

const root = process.getuid?.() === 0;

describe(
  "kube tier on real nodes, kube-proxy in nftables mode, WireGuard cables: 2 clusters × 2 nodes",
  { skip: root ? false : "needs root", timeout: 600_000 },
  () => {
    let lab: Lab;
    const NFT = "cwrf";
    before(async () => {
      lab = await upConnected({ name: NFT, clusters: 2, nodes: 2, kube: true, kubeProxyMode: "nftables", cable: "wireguard" });
    });
    after(async () => {
      await Lab.down(NFT);
    });

    it("the DaemonSets' containers are not privileged: NET_ADMIN and NET_RAW only; the gateway's WireGuard device is up", async () => {
      const client = await lab.kubeClient("c1");
      try {
        for (const ds of ["causeway-gateway", "causeway-route-agent"]) {
          const d = await client.get<{ spec: { template: { spec: { containers: { securityContext?: Record<string, unknown> }[] } } } }>(
            kube.R.daemonSet,
            SYSTEM_NAMESPACE,
            ds,
          );
          const sc = d.spec.template.spec.containers[0]?.securityContext ?? {};
          assert.equal(sc.privileged, undefined, ds);
          assert.deepEqual(sc.capabilities, { drop: ["ALL"], add: ["NET_ADMIN", "NET_RAW"] }, ds);
        }
      } finally {
        client.close();
      }
      const wg = await lab.exec("c1/n0", ["ip", "-details", "link", "show", "type", "tun"]);
      assert.match(wg.stdout, /state UP|state UNKNOWN/, `a TUN device (wireguard-go) on c1's gateway node: ${wg.stdout}${wg.stderr}`);
    });

    it("kube-proxy programs nftables, not iptables: its table holds the echo Service", async () => {
      const nft = await lab.exec("c2/n1", ["nft", "list", "table", "ip", "kube-proxy"]);
      assert.equal(nft.exitCode, 0, nft.stderr);
      assert.match(nft.stdout, /10\.102\.0\.10/);
      const ipt = await lab.exec("c2/n1", ["iptables-save", "-t", "nat"]);
      assert.doesNotMatch(ipt.stdout, /KUBE-SVC-/);
    });

    variantScenarios(() => lab, "its nftables kube-proxy");

    it("a node without the TUN device WireGuard needs (the gateway's device path one the node lacks): diagnose names the pod, the volume and the kubelet's reason; join restores it", async () => {
      const cli = (args: readonly string[]) =>
        new ProcessRunner(180_000).run("ip", ["netns", "exec", lab.state.broker.ns, process.execPath, join(REPO_ROOT, "cli/src/main.ts"), ...args], {
          allowFailure: true,
        });
      const kc = lab.state.kube?.apis.c1?.kubeconfig ?? "";
      const client = await lab.kubeClient("c1");
      try {
        await client.request("PATCH", kube.resourcePath(kube.R.daemonSet, SYSTEM_NAMESPACE, "causeway-gateway"), {
          body: { spec: { template: { spec: { volumes: [{ name: "dev-net-tun", hostPath: { path: "/dev/net/tun-absent", type: "CharDevice" } }] } } } },
          contentType: "application/strategic-merge-patch+json",
        });
        const said = await until(
          "diagnose names the missing device",
          async () => {
            const r = await cli(["diagnose", "deployment", "--kubeconfig", kc]);
            return r.exitCode === 1 && /FailedMount/.test(r.stdout) ? r.stdout : undefined;
          },
          60_000,
        );
        assert.match(
          said,
          /✗ DaemonSet causeway-gateway: pod not ready: causeway-gateway-\w+ on n0: PodInitializing — FailedMount: MountVolume\.SetUp failed for volume "dev-net-tun" : hostPath type check failed: \/dev\/net\/tun-absent is not a character device/,
        );
      } finally {
        client.close();
      }
      const r = await lab.joinCluster("c1");
      assert.match(r.stdout, /Causeway's pods are ready/, r.stdout);
      await lab.waitConnected(60_000);
      await assertPodReaches(lab, "c1/n1/p0", "c2/n1/p0");
    });
  },
);
