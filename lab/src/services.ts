import { Dns1123LabelSchema, ValidationError } from "@causeway/api";
import type { CommandRunner } from "@causeway/common";
import { NetnsRunner } from "@causeway/common";
import { enableGro } from "./build.ts";
import type { ClusterSpec, NodeSpec } from "./topology.ts";

/** A pod of a lab service: its own namespace behind a node's CNI bridge, running the lab web server. */
export interface LabServicePod {
  readonly name: string;
  readonly node: string;
  readonly ns: string;
  readonly ip: string;
  /** The node-side veth (unique in the node). */
  readonly hostIf: string;
}

/** A service made with `causeway lab service add` (kept in the lab's state). */
export interface LabService {
  readonly namespace: string;
  readonly name: string;
  readonly headless: boolean;
  /** ClusterSetIP: its virtual IP, DNATed on every node of the cluster to the pods. */
  readonly vip?: string;
  /** The service's port, also the pods' (the web server listens on it). */
  readonly port: number;
  /** The nat chain holding its DNAT rules (ClusterSetIP). */
  readonly chain?: string;
  pods: LabServicePod[];
}

export const MAX_SERVICE_PODS = 50;

/** Parses `<cluster>/<namespace>/<name>`; ValidationError naming the form otherwise. */
export function parseServiceRef(ref: string): { cluster: string; namespace: string; name: string } {
  const [cluster, namespace, name, ...rest] = ref.split("/");
  if (!cluster || !namespace || !name || rest.length) throw new ValidationError(`"${ref}": say <cluster>/<namespace>/<name>, e.g. c1/default/web`);
  for (const [what, v] of [
    ["namespace", namespace],
    ["name", name],
  ] as const) {
    if (!Dns1123LabelSchema.safeParse(v).success)
      throw new ValidationError(`service ${what} "${v}" must be a DNS label (lowercase letters, digits, '-', at most 63)`);
  }
  if (name.length > 50) throw new ValidationError(`service name "${name}" is over 50 characters: its pods are named <name>-<k> and must stay DNS labels`);
  return { cluster, namespace, name };
}

/** Pure: the next free address of 10.(100+I).0.11–250 for a service VIP (.10 is the lab's echo). */
export function nextVip(spec: ClusterSpec, services: readonly LabService[]): string {
  // .53 is the cluster's DNS (Kubernetes tier); dynamic ClusterIPs come from above the lowest 256 addresses.
  const used = new Set([`${spec.serviceBase}.0.53`, ...spec.services.map((s) => s.vip), ...services.flatMap((s) => (s.vip ? [s.vip] : []))]);
  for (let h = 11; h <= 250; h++) {
    const ip = `${spec.serviceBase}.0.${h}`;
    if (!used.has(ip)) return ip;
  }
  throw new ValidationError(`cluster ${spec.id} has no service address left (240 lab services at most)`);
}

/**
 * Pure: `count` more pods for `svc`, spread over the nodes (workers first, as a scheduler would),
 * each at the first free host .50–.250 of its node's pod CIDR; names `<service>-<k>`.
 */
export function planPods(spec: ClusterSpec, services: readonly LabService[], svc: LabService, count: number, lab: string): LabServicePod[] {
  const nodes = [...spec.nodes.filter((n) => !n.gateway), ...spec.nodes.filter((n) => n.gateway)];
  const all = services.flatMap((s) => s.pods);
  const usedIps = new Set([...spec.nodes.flatMap((n) => n.pods.map((p) => p.ip)), ...all.map((p) => p.ip)]);
  const usedIfs = new Set(all.map((p) => `${p.node}/${p.hostIf}`));
  let k = Math.max(-1, ...svc.pods.map((p) => Number(p.name.slice(svc.name.length + 1)))) + 1;
  const out: LabServicePod[] = [];
  for (let i = 0; i < count; i++, k++) {
    const node = nodes[(svc.pods.length + i) % nodes.length];
    if (!node) throw new ValidationError(`cluster ${spec.id} has no nodes`);
    const base = node.podCidr.split(".").slice(0, 3).join(".");
    let ip = "";
    for (let h = 50; h <= 250 && !ip; h++) if (!usedIps.has(`${base}.${h}`)) ip = `${base}.${h}`;
    if (!ip) throw new ValidationError(`node ${spec.id}/${node.name} has no pod address left`);
    let n = 0;
    while (usedIfs.has(`${node.name}/sv${n}`)) n++;
    const pod = { name: `${svc.name}-${k}`, node: node.name, ns: `${lab}-${spec.id}-${node.name}-sv${n}`, ip, hostIf: `sv${n}` };
    usedIps.add(ip);
    usedIfs.add(`${node.name}/${pod.hostIf}`);
    out.push(pod);
  }
  return out;
}

/** A pod namespace `ns` at `ip` behind `node`'s CNI bridge through veth `hostIf` (one ip batch each side). */
export async function attachPod(run: CommandRunner, node: NodeSpec, ns: string, hostIf: string, ip: string): Promise<void> {
  await run.run("ip", ["netns", "add", ns]);
  // A pod that had this address before left the node's neighbour entry (its MAC) behind: a CNI
  // announces the new pod; the lab forgets the old entry, or traffic waits out neighbour probing.
  await run.run("ip", ["-n", node.ns, "-batch", "-"], {
    input: `neigh flush to ${ip} dev cni0\nlink add ${hostIf} type veth peer name eth0 netns ${ns}\nlink set ${hostIf} master cni0\nlink set ${hostIf} up\n`,
  });
  await run.run("ip", ["-n", ns, "-batch", "-"], {
    input: `link set lo up\naddress add ${ip}/24 dev eth0\nlink set eth0 up\nroute add default via ${node.cniIp}\n`,
  });
  await enableGro(run, ns);
}

/** Creates the pods' namespaces, each wired to its node's CNI bridge. */
export async function addPodNetworks(run: CommandRunner, spec: ClusterSpec, pods: readonly LabServicePod[]): Promise<void> {
  for (const p of pods) {
    const node = spec.nodes.find((n) => n.name === p.node);
    if (node) await attachPod(run, node, p.ns, p.hostIf, p.ip);
  }
}

/**
 * Pure: the iptables-restore input (nat, --noflush) for a ClusterSetIP service on a node: its
 * chain flushed and refilled with one DNAT per pod chosen at random with equal odds (kube-proxy's
 * way); `jumps` adds the PREROUTING/OUTPUT rules that send the VIP's traffic to it (once, at add).
 */
export function serviceRules(svc: LabService, jumps: boolean): string {
  if (!svc.vip || !svc.chain) return "";
  const lines = ["*nat", `:${svc.chain} - [0:0]`];
  if (jumps) for (const chain of ["PREROUTING", "OUTPUT"]) lines.push(`-A ${chain} -d ${svc.vip}/32 -p tcp -m tcp --dport ${svc.port} -j ${svc.chain}`);
  lines.push(
    ...randomDnat(
      svc.chain,
      "tcp",
      svc.pods.map((p) => `${p.ip}:${svc.port}`),
    ),
    "COMMIT",
  );
  return `${lines.join("\n")}\n`;
}

/** Pure: rules of `chain` sending its `proto` packets to one of `targets` (ip:port), each with equal odds (kube-proxy's way). */
export function randomDnat(chain: string, proto: string, targets: readonly string[]): string[] {
  return targets.map((t, i) => {
    const left = targets.length - i;
    const pick = left > 1 ? `-m statistic --mode random --probability ${(1 / left).toFixed(5)} ` : "";
    return `-A ${chain} -p ${proto} ${pick}-j DNAT --to-destination ${t}`;
  });
}

/** Applies a service's DNAT rules on every node of the cluster. */
export async function applyServiceRules(run: CommandRunner, spec: ClusterSpec, svc: LabService, jumps: boolean): Promise<void> {
  const rules = serviceRules(svc, jumps);
  if (!rules) return;
  for (const n of spec.nodes) await new NetnsRunner(run, n.ns).run("iptables-restore", ["--noflush", "-w", "5"], { input: rules });
}

/** The site file entry of a lab service (standalone mode: what the lighthouse exports and probes). */
export function siteServiceOf(svc: LabService) {
  return {
    namespace: svc.namespace,
    name: svc.name,
    type: svc.headless ? "Headless" : "ClusterSetIP",
    ...(svc.vip ? { ip: svc.vip } : {}),
    ports: [{ name: "http", protocol: "TCP", port: svc.port }],
    endpoints: svc.pods.map((p) => ({ ip: p.ip, hostname: p.name })),
  };
}
