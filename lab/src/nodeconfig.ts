/**
 * Pure: the configuration files of one real lab node — containerd's, the CNI network's, kubelet's
 * and kube-proxy's — each keeping the node apart from the others on this host (its own root,
 * state, sockets, runc root, cgroup root and CNI directory). docs/notes/real-nodes.md says why
 * each setting is there.
 */
import { join } from "node:path";
import { stringify as toYaml } from "yaml";
import type { ClusterSpec, NodeSpec } from "./topology.ts";

/** The sandbox image every node's containerd uses, built and imported by the lab (lab/src/images.ts). */
export const SANDBOX_IMAGE = "causeway.local/pause:1";

/** Where one node keeps everything: paths under the lab's directory, names unique on this host. */
export interface NodePaths {
  readonly ns: string;
  readonly node: string;
  readonly dir: string;
  readonly containerdConfig: string;
  readonly containerdRoot: string;
  readonly containerdState: string;
  readonly socket: string;
  readonly runcRoot: string;
  readonly cniDir: string;
  readonly ipamDir: string;
  readonly kubeletDir: string;
  readonly kubeletConfig: string;
  readonly podLogs: string;
  readonly kubeProxyConfig: string;
  /** The node's cgroup under every controller's hierarchy (/sys/fs/cgroup/<controller>/<cgroup>): its kubelet's cgroupRoot. */
  readonly cgroup: string;
}

export function nodePaths(labDir: string, c: ClusterSpec, n: NodeSpec): NodePaths {
  const dir = join(labDir, "nodes", `${c.id}-${n.name}`);
  return {
    ns: n.ns,
    node: n.name,
    dir,
    containerdConfig: join(dir, "containerd.toml"),
    containerdRoot: join(dir, "containerd/root"),
    containerdState: join(dir, "containerd/state"),
    socket: join(dir, "containerd.sock"),
    runcRoot: join(dir, "runc"),
    cniDir: join(dir, "cni"),
    ipamDir: join(dir, "ipam"),
    kubeletDir: join(dir, "kubelet"),
    kubeletConfig: join(dir, "kubelet.yaml"),
    podLogs: join(dir, "pods"),
    kubeProxyConfig: join(dir, "kube-proxy.yaml"),
    cgroup: n.ns,
  };
}

const q = JSON.stringify;

/** containerd 1.6's configuration for a lab node. */
export function containerdToml(p: NodePaths): string {
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  return [
    "version = 2",
    `root = ${q(p.containerdRoot)}`,
    `state = ${q(p.containerdState)}`,
    // /opt/containerd is host-wide; snapshotters other than overlayfs are not used.
    'disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp"]',
    "[grpc]",
    `  address = ${q(p.socket)}`,
    "[ttrpc]",
    `  address = ${q(`${p.socket}.ttrpc`)}`,
    `[${cri}]`,
    `  sandbox_image = ${q(SANDBOX_IMAGE)}`,
    // Pod network namespaces under this node's state directory, not the host's /var/run/netns.
    "  netns_mounts_under_state_dir = true",
    // Without CAP_SYS_RESOURCE a process cannot lower its oom_score_adj: the CRI clamps what it asks runc for.
    "  restrict_oom_score_adj = true",
    "  enable_unprivileged_ports = true",
    `  [${cri}.cni]`,
    '    bin_dir = "/usr/lib/cni"',
    `    conf_dir = ${q(p.cniDir)}`,
    `  [${cri}.containerd.runtimes.runc]`,
    '    runtime_type = "io.containerd.runc.v2"',
    `    [${cri}.containerd.runtimes.runc.options]`,
    "      SystemdCgroup = false",
    // runc's state defaults to /run/containerd/runc/<namespace>, which every node would share.
    `      Root = ${q(p.runcRoot)}`,
    "",
  ].join("\n");
}

/**
 * The node's pod network with Debian's CNI plugins: a bridge (cni0, the node's CNI address as the
 * pods' gateway) and host-local addresses from the node's pod CIDR, starting at .10 so that the
 * lab's first pod on each node has the address the topology gives it; no masquerade here (the lab
 * adds the one a cluster's CNI would: pod traffic leaving the cluster's pod CIDR).
 */
export function cniConflist(c: ClusterSpec, n: NodeSpec, p: NodePaths): string {
  const base = n.podCidr.replace(/\.0\/24$/, "");
  return `${JSON.stringify(
    {
      cniVersion: "0.4.0",
      name: `${c.id}-pods`,
      plugins: [
        {
          type: "bridge",
          bridge: "cni0",
          isGateway: true,
          ipMasq: false,
          hairpinMode: true,
          ipam: {
            type: "host-local",
            ranges: [[{ subnet: n.podCidr, rangeStart: `${base}.10`, rangeEnd: `${base}.250`, gateway: n.cniIp }]],
            routes: [{ dst: "0.0.0.0/0" }],
            dataDir: p.ipamDir,
          },
        },
        { type: "portmap", capabilities: { portMappings: true } },
      ],
    },
    null,
    2,
  )}\n`;
}

/** The address of the cluster's DNS Service (kube-dns), as pods' resolv.conf names it. */
export const clusterDnsIp = (c: ClusterSpec) => `${c.serviceBase}.0.53`;

/**
 * kubelet's configuration: cgroupfs under the node's own cgroup (cgroup v1 allowed), image
 * garbage collection and eviction off (imported images are never deleted; the disk is shared),
 * no anonymous access, its ports on the node's LAN address.
 */
export function kubeletYaml(c: ClusterSpec, n: NodeSpec, p: NodePaths): string {
  return toYaml({
    apiVersion: "kubelet.config.k8s.io/v1beta1",
    kind: "KubeletConfiguration",
    cgroupDriver: "cgroupfs",
    cgroupRoot: `/${p.cgroup}`,
    cgroupsPerQOS: true,
    failCgroupV1: false,
    failSwapOn: false,
    containerRuntimeEndpoint: `unix://${p.socket}`,
    podLogsDir: p.podLogs,
    authentication: { anonymous: { enabled: false }, webhook: { enabled: false } },
    authorization: { mode: "AlwaysAllow" },
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    evictionHard: { "memory.available": "1Mi", "nodefs.available": "0%", "imagefs.available": "0%", "nodefs.inodesFree": "0%" },
    localStorageCapacityIsolation: false,
    clusterDNS: [clusterDnsIp(c)],
    clusterDomain: "cluster.local",
    resolvConf: "/etc/resolv.conf",
    readOnlyPort: 0,
    address: n.lanIp,
    healthzBindAddress: n.lanIp,
    // ConfigMap volumes (CoreDNS's Corefile) and pod state follow within seconds.
    syncFrequency: "10s",
    nodeStatusUpdateFrequency: "5s",
    serializeImagePulls: false,
    registerNode: true,
  });
}

export type KubeProxyMode = "iptables" | "nftables";

/** kube-proxy's configuration: the node's name and address, the cluster's pod CIDR; conntrack sysctls left alone (they are the host's). */
export function kubeProxyYaml(c: ClusterSpec, n: NodeSpec, kubeconfig: string, mode: KubeProxyMode): string {
  return toYaml({
    apiVersion: "kubeproxy.config.k8s.io/v1alpha1",
    kind: "KubeProxyConfiguration",
    clientConnection: { kubeconfig },
    hostnameOverride: n.name,
    bindAddress: n.lanIp,
    clusterCIDR: c.podCidr,
    mode,
    conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: "0s", tcpCloseWaitTimeout: "0s" },
    metricsBindAddress: "127.0.0.1:10249",
    healthzBindAddress: `${n.lanIp}:10256`,
    // NodePorts on every address (the broker's on a gateway's underlay address): nftables mode's default is the primary address only.
    nodePortAddresses: ["0.0.0.0/0"],
  });
}
