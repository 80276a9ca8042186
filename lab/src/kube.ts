/** The Kubernetes tier's API servers: one per lab cluster, its Nodes and the configuration kubeadm would leave (networking, CoreDNS). */
import { join } from "node:path";
import { type CommandRunner, kube, view } from "@causeway/common";
import { stringify as toYaml } from "yaml";
import { ApiServer, kubeApiServerBinary } from "./apiserver.ts";
import { mtuOpt } from "./build.ts";
import { type ClusterSpec, underlayNs } from "./topology.ts";
import { labMemoryDir } from "./paths.ts";

/** One cluster's API server in the lab: on the cluster LAN (for its nodes) and on the underlay (for admins). */
export interface LabApi {
  readonly ns: string;
  readonly dir: string;
  readonly lanIp: string;
  readonly underlayIp: string;
  /** Admin kubeconfig: the underlay address, plus the lab socket for tools in the host namespace. */
  readonly kubeconfig: string;
  /** Admin kubeconfig with the LAN address, for the cluster's own pods (its CoreDNS). */
  readonly lanKubeconfig?: string;
}

export const apiAddresses = (c: ClusterSpec) => ({ lanIp: `198.19.${c.index}.2`, underlayIp: `198.18.${c.index}.2` });

export function apiServerOf(lab: string, dir: string, c: ClusterSpec): ApiServer {
  const { lanIp, underlayIp } = apiAddresses(c);
  // "limited" has no RBAC bindings: for tests of what a user without permissions sees.
  return new ApiServer({
    ns: `${lab}-${c.id}-api`,
    dir: join(dir, `${c.id}-kube`),
    etcdDir: join(labMemoryDir(lab), `${c.id}-etcd`),
    ips: [lanIp, underlayIp],
    serviceCidr: c.serviceCidr,
    users: { limited: [] },
  });
}

/** Builds the API server namespace of a cluster, starts etcd + kube-apiserver, writes the admin kubeconfig. */
export async function buildApi(run: CommandRunner, lab: string, dir: string, c: ClusterSpec, mtu?: number): Promise<LabApi> {
  const api = apiServerOf(lab, dir, c);
  const { lanIp, underlayIp } = apiAddresses(c);
  const ns = api.o.ns;
  await run.run("ip", ["netns", "add", ns]);
  const lines = [
    "link set lo up",
    `link add eth0 type veth peer name api netns ${c.switchNs}`,
    `address add ${lanIp}/24 dev eth0`,
    "link set eth0 up",
    `link add ul0${mtuOpt(mtu)} type veth peer name ${c.id}api${mtuOpt(mtu)} netns ${underlayNs(lab)}`,
    `address add ${underlayIp}/16 dev ul0`,
    "link set ul0 up",
  ];
  await run.run("ip", ["-n", ns, "-batch", "-"], { input: `${lines.join("\n")}\n` });
  await run.run("ip", ["-n", c.switchNs, "-batch", "-"], { input: "link set api master br0\nlink set api up\n" });
  await run.run("ip", ["-n", underlayNs(lab), "-batch", "-"], { input: `link set ${c.id}api master br0\nlink set ${c.id}api up\n` });
  await api.start(kubeApiServerBinary());
  const kubeconfig = api.writeKubeconfig(join(dir, `${c.id}.kubeconfig`), { context: c.id, user: "admin", server: `https://${underlayIp}:${api.port}` });
  const lanKubeconfig = api.writeKubeconfig(join(dir, `${c.id}.lan.kubeconfig`), {
    context: c.id,
    user: "admin",
    server: `https://${lanIp}:${api.port}`,
    socket: false,
  });
  return { ns, dir: api.o.dir, lanIp, underlayIp, kubeconfig, lanKubeconfig };
}

/**
 * What a real cluster would have before Causeway, beside what its kubelets report: its Nodes'
 * labels, annotations and addresses (as a cloud provider sets them), kubeadm's networking config
 * (where join discovers the pod CIDR) and CoreDNS's configuration as kubeadm installs it.
 */
export async function registerCluster(client: kube.KubeClient, c: ClusterSpec): Promise<void> {
  const fm = { fieldManager: "causeway-lab" };
  await client.apply(kube.R.configMap, { metadata: { name: "coredns", namespace: "kube-system" }, ...{ data: { Corefile: kubeCorefile() } } }, fm);
  // Several candidates (--gateways): labelled here, as an operator would; one is left to join.
  const candidates = c.nodes.filter((n) => n.gateway).length > 1;
  for (const n of c.nodes) {
    const node = {
      metadata: {
        name: n.name,
        labels: { "kubernetes.io/hostname": n.name, ...(candidates && n.gateway ? { [view.GATEWAY_NODE_LABEL]: "true" } : {}) },
        annotations: { [view.CNI_IP_ANNOTATION]: n.cniIp, ...(n.publicIp ? { [view.PUBLIC_IP_ANNOTATION]: `ipv4:${n.publicIp}` } : {}) },
      },
      spec: { podCIDR: n.podCidr, podCIDRs: [n.podCidr] },
    };
    await client.apply(kube.R.node, node, fm);
    // As a cloud provider would (kubelet runs with --cloud-provider=external and keeps addresses it finds set):
    // gateway candidates have an ExternalIP, their underlay address. Kubelet adds its conditions.
    const addresses = [
      { type: "InternalIP", address: n.lanIp },
      ...(n.publicIp ? [{ type: "ExternalIP", address: n.publicIp }] : []),
      { type: "Hostname", address: n.name },
    ];
    await client.apply(kube.R.node, { metadata: { name: n.name }, ...{ status: { addresses } } }, { ...fm, sub: "status" });
  }
  const clusterConfiguration = toYaml({
    apiVersion: "kubeadm.k8s.io/v1beta4",
    kind: "ClusterConfiguration",
    networking: { podSubnet: c.podCidr, serviceSubnet: c.serviceCidr },
  });
  await client.apply(
    kube.R.configMap,
    { metadata: { name: "kubeadm-config", namespace: "kube-system" }, ...{ data: { ClusterConfiguration: clusterConfiguration } } },
    fm,
  );
}

/** Pure: a kubeadm-style Corefile for a lab cluster (nothing is forwarded out of the lab), with the health and ready endpoints its pods' probes use. */
export function kubeCorefile(): string {
  return [
    ".:53 {",
    "    errors",
    "    health :8080",
    "    ready :8181",
    "    kubernetes cluster.local in-addr.arpa ip6.arpa {",
    "        pods insecure",
    "        fallthrough in-addr.arpa ip6.arpa",
    "        ttl 5",
    "    }",
    "    reload 2s",
    "    loadbalance",
    "}",
    "",
  ].join("\n");
}
