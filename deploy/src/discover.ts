import { CausewayError, isIPv4Cidr } from "@causeway/api";
import { kube } from "@causeway/common";
import { parse as parseYaml } from "yaml";

/** A CIDR could not be discovered from the API: says where we looked and which flag to pass. */
export class CidrDiscoveryError extends CausewayError {
  override name = "CidrDiscoveryError";
  /** Refused input: the message says which flag or permission to give. Exit 2. */
  override readonly exitCode = 2;
}

const SERVICE_CIDRS: kube.ResourceType = { group: "networking.k8s.io", version: "v1", plural: "servicecidrs", kind: "ServiceCIDR", namespaced: false };

const ipv4 = (xs: readonly (string | undefined)[]): string[] => [
  ...new Set(
    xs
      .flatMap((x) => (x ?? "").split(","))
      .map((x) => x.trim())
      .filter((x) => isIPv4Cidr(x)),
  ),
];

async function kubeadmNetworking(client: kube.KubeClient): Promise<{ podSubnet?: string; serviceSubnet?: string }> {
  try {
    const cm = await client.get<{ data?: Record<string, string> }>(kube.R.configMap, "kube-system", "kubeadm-config");
    const doc = parseYaml(cm.data?.ClusterConfiguration ?? "") as { networking?: { podSubnet?: string; serviceSubnet?: string } } | null;
    return doc?.networking ?? {};
  } catch (err) {
    if (err instanceof kube.KubeNotFoundError || err instanceof kube.KubeForbiddenError) return {};
    throw err;
  }
}

/** The --cluster-cidr / --service-cluster-ip-range flags of kube-system control-plane pods, when readable. */
async function podFlags(client: kube.KubeClient, flag: string): Promise<string[]> {
  try {
    const pods = await client.list<{ spec?: { containers?: { command?: string[]; args?: string[] }[] } }>(
      { group: "", version: "v1", plural: "pods", kind: "Pod", namespaced: true },
      "kube-system",
    );
    const args = pods.items.flatMap((p) => (p.spec?.containers ?? []).flatMap((c) => [...(c.command ?? []), ...(c.args ?? [])]));
    return ipv4(args.filter((a) => a.startsWith(`--${flag}=`)).map((a) => a.slice(flag.length + 3)));
  } catch (err) {
    if (err instanceof kube.KubeForbiddenError) return [];
    throw err;
  }
}

/** The cluster's service CIDRs: ServiceCIDR objects (Kubernetes ≥ 1.33), else kubeadm's config, else control-plane flags. */
export async function discoverServiceCidrs(client: kube.KubeClient): Promise<string[]> {
  try {
    const list = await client.list<{ spec?: { cidrs?: string[] } }>(SERVICE_CIDRS);
    const found = ipv4(list.items.flatMap((s) => s.spec?.cidrs ?? []));
    if (found.length) return found;
  } catch (err) {
    if (!(err instanceof kube.KubeNotFoundError || err instanceof kube.KubeForbiddenError)) throw err;
  }
  const k = ipv4([(await kubeadmNetworking(client)).serviceSubnet]);
  if (k.length) return k;
  const f = await podFlags(client, "service-cluster-ip-range");
  if (f.length) return f;
  throw new CidrDiscoveryError(
    `cannot discover the service CIDR of context "${client.context}" (no ServiceCIDR objects, no kube-system/kubeadm-config, no control-plane flags); pass --servicecidr`,
  );
}

/** The cluster's pod CIDRs: kubeadm's config, else kube-controller-manager's --cluster-cidr. */
export async function discoverClusterCidrs(client: kube.KubeClient): Promise<string[]> {
  const k = ipv4([(await kubeadmNetworking(client)).podSubnet]);
  if (k.length) return k;
  const f = await podFlags(client, "cluster-cidr");
  if (f.length) return f;
  throw new CidrDiscoveryError(
    `cannot discover the pod CIDR of context "${client.context}" (no kube-system/kubeadm-config, no --cluster-cidr on control-plane pods); pass --clustercidr`,
  );
}
