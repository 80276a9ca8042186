import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { clusterDnsIp, cniConflist, containerdToml, kubeletYaml, kubeProxyYaml, nodePaths, SANDBOX_IMAGE } from "./nodeconfig.ts";
import { clusterSpec, firstServiceIp } from "./topology.ts";
import { podWaiting, unready } from "./realnodes.ts";

const c = clusterSpec("cwt", 2, 2);
const n = c.nodes[1];
if (!n) throw new Error("no node n1");
const p = nodePaths("/run/causeway-lab/cwt", c, n);

describe("real lab nodes: each node's configuration keeps it apart from the others on the host", () => {
  it("containerd: its own root, state, sockets and runc root; the lab's pause image; cgroupfs; the CRI's oom_score_adj clamped", () => {
    const toml = containerdToml(p);
    for (const want of [
      'root = "/run/causeway-lab/cwt/nodes/c2-n1/containerd/root"',
      'state = "/run/causeway-lab/cwt/nodes/c2-n1/containerd/state"',
      'address = "/run/causeway-lab/cwt/nodes/c2-n1/containerd.sock"',
      'Root = "/run/causeway-lab/cwt/nodes/c2-n1/runc"',
      `sandbox_image = "${SANDBOX_IMAGE}"`,
      "SystemdCgroup = false",
      "restrict_oom_score_adj = true",
      "netns_mounts_under_state_dir = true",
      'conf_dir = "/run/causeway-lab/cwt/nodes/c2-n1/cni"',
    ])
      assert.ok(toml.includes(want), want);
  });

  it("CNI: a bridge with the node's CNI address as gateway, host-local addresses of its pod CIDR from .10, no masquerade", () => {
    const conf = JSON.parse(cniConflist(c, n, p)) as {
      plugins: { type: string; ipMasq?: boolean; ipam?: { ranges: { subnet: string; rangeStart: string; gateway: string }[][] } }[];
    };
    const bridge = conf.plugins[0];
    assert.equal(bridge?.type, "bridge");
    assert.equal(bridge?.ipMasq, false);
    assert.deepEqual(bridge?.ipam?.ranges[0]?.[0], { subnet: "10.2.1.0/24", rangeStart: "10.2.1.10", rangeEnd: "10.2.1.250", gateway: "10.2.1.1" });
  });

  it("kubelet: cgroupfs under the node's own cgroup, cgroup v1 allowed, image GC and eviction off, the cluster's DNS address", () => {
    const k = parse(kubeletYaml(c, n, p)) as Record<string, unknown>;
    assert.equal(k.cgroupDriver, "cgroupfs");
    assert.equal(k.cgroupRoot, "/cwt-c2-n1");
    assert.equal(k.failCgroupV1, false);
    assert.equal(k.imageGCHighThresholdPercent, 100);
    assert.deepEqual(k.evictionHard, { "memory.available": "1Mi", "nodefs.available": "0%", "imagefs.available": "0%", "nodefs.inodesFree": "0%" });
    assert.deepEqual(k.clusterDNS, [clusterDnsIp(c)]);
    assert.equal(clusterDnsIp(c), "10.102.0.53");
    assert.equal(k.podLogsDir, "/run/causeway-lab/cwt/nodes/c2-n1/pods");
    assert.equal(k.containerRuntimeEndpoint, "unix:///run/causeway-lab/cwt/nodes/c2-n1/containerd.sock");
  });

  it("kube-proxy: the chosen mode, the cluster's pod CIDR, NodePorts on every address, conntrack sysctls left alone", () => {
    const k = parse(kubeProxyYaml(c, n, "/k", "nftables")) as Record<string, unknown>;
    assert.equal(k.mode, "nftables");
    assert.equal(k.clusterCIDR, "10.2.0.0/16");
    assert.deepEqual(k.nodePortAddresses, ["0.0.0.0/0"]);
    assert.deepEqual(k.conntrack, { maxPerCore: 0, min: 0, tcpEstablishedTimeout: "0s", tcpCloseWaitTimeout: "0s" });
  });

  it("the API server's certificate names the kubernetes Service's address: the service CIDR's first host", () => {
    assert.equal(firstServiceIp("10.101.0.0/16"), "10.101.0.1");
    assert.equal(firstServiceIp("10.96.0.0/12"), "10.96.0.1");
    assert.equal(firstServiceIp("172.16.255.0/24"), "172.16.255.1");
  });

  it("why the lab waits: a pod's waiting reason, workloads not ready as name ready/wanted", () => {
    assert.equal(
      podWaiting({ metadata: { name: "p" }, status: { containerStatuses: [{ state: { waiting: { reason: "ErrImagePull", message: "no registry" } } }] } }),
      "ErrImagePull: no registry",
    );
    assert.equal(podWaiting({ metadata: { name: "p" }, status: { phase: "Pending" } }), "Pending");
    assert.deepEqual(
      unready(
        [{ metadata: { name: "ds" }, status: { desiredNumberScheduled: 3, numberReady: 2 } }],
        [{ metadata: { name: "dep" }, spec: { replicas: 2 }, status: { readyReplicas: 2 } }],
      ),
      ["ds 2/3"],
    );
  });
});
