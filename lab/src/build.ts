import { type CommandRunner, NetnsRunner } from "@causeway/common";
import { type ClusterRouterSpec, type ClusterSpec, LAB, type NodeSpec, underlayNs } from "./topology.ts";

/** Runs `ip -n ns -batch` with the given lines (one process per namespace). */
async function ipBatch(run: CommandRunner, ns: string, lines: readonly string[]): Promise<void> {
  if (lines.length) await run.run("ip", ["-n", ns, "-batch", "-"], { input: `${lines.join("\n")}\n` });
}

async function addNamespaces(run: CommandRunner, names: readonly string[]): Promise<void> {
  for (const n of names) await run.run("ip", ["netns", "add", n]);
}

/**
 * Turns GRO on for every veth of a namespace, as physical NICs have it: without it each hop of
 * the lab handles MTU-sized packets and the lab measures veth overhead, not Causeway.
 */
export async function enableGro(run: CommandRunner, ns: string): Promise<void> {
  const out = await run.run("ip", ["-n", ns, "-json", "link", "show", "type", "veth"]);
  for (const l of JSON.parse(out.stdout || "[]") as { ifname: string }[]) {
    await run.run("ip", ["netns", "exec", ns, "ethtool", "-K", l.ifname, "gro", "on"], { allowFailure: true });
  }
}

/** ` mtu N` for `ip link add`, when the lab's underlay has a non-default MTU. */
export const mtuOpt = (mtu: number | undefined) => (mtu ? ` mtu ${mtu}` : "");

/** The underlay switch and the broker host on it; `mtu` is the underlay's MTU (default 1500). */
export async function buildUnderlay(run: CommandRunner, lab: string, brokerNs: string, mtu?: number): Promise<void> {
  const ul = underlayNs(lab);
  await addNamespaces(run, [ul]);
  await ipBatch(run, ul, ["link set lo up", "link add br0 type bridge", "link set br0 up"]);
  await addUnderlayHost(run, lab, brokerNs, LAB.brokerIp, "broker", mtu);
}

/** A host namespace on the underlay switch at `ip` (its switch port named `port`): the broker, its replicas, NATS nodes. */
export async function addUnderlayHost(run: CommandRunner, lab: string, ns: string, ip: string, port: string, mtu?: number): Promise<void> {
  const ul = underlayNs(lab);
  await addNamespaces(run, [ns]);
  await ipBatch(run, ns, [
    "link set lo up",
    `link add ul0${mtuOpt(mtu)} type veth peer name ${port}${mtuOpt(mtu)} netns ${ul}`,
    `address add ${ip}/${LAB.underlayPrefix} dev ul0`,
    "link set ul0 up",
  ]);
  await ipBatch(run, ul, [`link set ${port} master br0`, `link set ${port} up`]);
  await enableGro(run, ns);
}

/**
 * One cluster: a LAN switch, nodes with a CNI bridge and host-gw routes between them, pods,
 * a CNI-style masquerade for traffic leaving the cluster, and service VIPs DNATed on every
 * node (standing in for kube-proxy). Gateway nodes also sit on the underlay. With `realNodes`,
 * the nodes only: their pods, bridge and service rules come from kubelet, the CNI plugins and kube-proxy.
 */
export async function buildCluster(
  run: CommandRunner,
  lab: string,
  c0: ClusterSpec,
  mtu?: number,
  o: { realNodes?: boolean; flannel?: boolean } = {},
): Promise<void> {
  const c: ClusterSpec = o.realNodes ? { ...c0, services: [], nodes: c0.nodes.map((n) => ({ ...n, pods: [] })) } : c0;
  await enableGro(run, underlayNs(lab));
  const ul = underlayNs(lab);
  await addNamespaces(run, [c.switchNs, ...c.nodes.flatMap((n) => [n.ns, ...n.pods.map((p) => p.ns)])]);
  if (c.nat) await buildNatRouter(run, lab, c, mtu);
  await ipBatch(run, c.switchNs, ["link set lo up", "link add br0 type bridge", "link set br0 up"]);
  if (c.router) await buildClusterRouter(run, lab, c, c.router, mtu);
  for (const n of c.nodes) {
    const lines = nodeLines(lab, c, n, mtu, { realNodes: o.realNodes === true, flannel: o.flannel === true });
    await ipBatch(run, n.ns, lines);
    await ipBatch(run, ul, n.underlayIp && !c.nat ? [`link set ${c.id}${n.name} master br0`, `link set ${c.id}${n.name} up`] : []);
    if (n.underlayIp && c.nat) await ipBatch(run, c.nat.ns, [`address add ${c.nat.insideIp}/${c.nat.insidePrefix} dev in0`, "link set in0 up"]);
    await ipBatch(run, c.switchNs, [`link set ${n.name} master br0`, `link set ${n.name} up`]);
    await enableGro(run, c.switchNs);
    for (const p of n.pods) {
      await ipBatch(run, p.ns, ["link set lo up", `address add ${p.ip}/24 dev eth0`, "link set eth0 up", `route add default via ${n.cniIp}`]);
    }
    await Promise.all([n.ns, ...n.pods.map((p) => p.ns)].map((ns) => enableGro(run, ns)));
    const nr = new NetnsRunner(run, n.ns);
    await nr.run("sysctl", ["-q", "-w", "net.ipv4.ip_forward=1"]);
    await nr.run("iptables-restore", ["--noflush", "-w", "5"], { input: nodeFilter(c, n.underlayIp !== undefined, o.flannel === true) });
  }
}

/** Pure: the fixed MAC of a node's CNI bridge, from its address (locally administered, unique within the node's L2). */
export function bridgeMac(cniIp: string): string {
  return ["02", "ca", ...cniIp.split(".").map((b) => Number(b).toString(16).padStart(2, "0"))].join(":");
}

/** Pure: a node's own `ip -batch` lines: its LAN link, the CNI bridge and pod links (the lab's pods), routes to the other nodes' pods and to the underlay. */
function nodeLines(lab: string, c: ClusterSpec, n: NodeSpec, mtu: number | undefined, o: { realNodes: boolean; flannel: boolean }): string[] {
  const { realNodes } = o;
  const lines = [
    "link set lo up",
    `link add eth0 type veth peer name ${n.name} netns ${c.switchNs}`,
    `address add ${n.lanIp}/24 dev eth0`,
    "link set eth0 up",
    // The bridge's MAC is set, as the CNI bridge plugin does: a bridge without one takes its
    // lowest port's, which changes as pods come and go and leaves the other pods' neighbour entry
    // for the gateway address pointing at a MAC nobody answers until it is probed again (~30 s).
    ...(realNodes
      ? []
      : ["link add cni0 type bridge", `link set cni0 address ${bridgeMac(n.cniIp)}`, `address add ${n.cniIp}/24 dev cni0`, "link set cni0 up"]),
  ];
  for (const p of n.pods) {
    lines.push(`link add ${p.hostIf} type veth peer name eth0 netns ${p.ns}`, `link set ${p.hostIf} master cni0`, `link set ${p.hostIf} up`);
  }
  // With flannel, its VXLAN device carries the routes between nodes.
  if (!o.flannel) for (const other of c.nodes) if (other !== n) lines.push(`route add ${other.podCidr} via ${other.lanIp}`);
  // A real node's service addresses need a route before kube-proxy's DNAT (nodes have a default route; the lab's have none).
  if (realNodes) lines.push(`route add ${c.serviceCidr} dev eth0`);
  return [...lines, ...underlayLines(lab, c, n, mtu)];
}

/**
 * A NAT router like a cloud's for a gateway with a private address: masquerades everything the
 * cluster sends to the underlay, and forwards the cable and NAT discovery ports (UDP 4500,
 * 4490) arriving at its public address to the gateway (a 1:1 NAT / elastic IP).
 */
async function buildNatRouter(run: CommandRunner, lab: string, c: ClusterSpec, mtu?: number): Promise<void> {
  const nat = c.nat;
  const gw = c.nodes.find((n) => n.gateway);
  if (!nat || !gw?.underlayIp) return;
  await addNamespaces(run, [nat.ns]);
  const nr = await routerUplink(run, lab, nat.ns, `${c.id}nat`, nat.publicIp, ["link set lo up"], mtu);
  const rules = ["*nat"];
  for (const port of [4500, 4490]) rules.push(`-A PREROUTING -i ul0 -p udp -m udp --dport ${port} -j DNAT --to-destination ${gw.underlayIp}`);
  rules.push("-A POSTROUTING -o ul0 -j MASQUERADE", "COMMIT");
  await nr.run("iptables-restore", ["-w", "5"], { input: `${rules.join("\n")}\n` });
}

/**
 * A router namespace's link to the underlay: `ul0` at `address`, its peer `peer` on the
 * underlay bridge, forwarding on (after `first`, the namespace's own lines). Returns a runner
 * in the namespace for its packet filter.
 */
async function routerUplink(run: CommandRunner, lab: string, ns: string, peer: string, address: string, first: string[], mtu?: number): Promise<NetnsRunner> {
  const ul = underlayNs(lab);
  await ipBatch(run, ns, [
    ...first,
    `link add ul0${mtuOpt(mtu)} type veth peer name ${peer}${mtuOpt(mtu)} netns ${ul}`,
    `address add ${address}/${LAB.underlayPrefix} dev ul0`,
    "link set ul0 up",
  ]);
  await ipBatch(run, ul, [`link set ${peer} master br0`, `link set ${peer} up`]);
  const nr = new NetnsRunner(run, ns);
  await nr.run("sysctl", ["-q", "-w", "net.ipv4.ip_forward=1"]);
  return nr;
}

/**
 * The cluster's router (in its switch namespace): on the LAN bridge and the underlay, masquerading
 * the LAN, so that nodes that are not gateway candidates reach the broker whichever gateway is up.
 */
async function buildClusterRouter(run: CommandRunner, lab: string, c: ClusterSpec, r: ClusterRouterSpec, mtu?: number): Promise<void> {
  const nr = await routerUplink(run, lab, c.switchNs, `${c.id}rt`, r.underlayIp, [`address add ${r.lanIp}/24 dev br0`], mtu);
  await nr.run("iptables-restore", ["-w", "5"], { input: `*nat\n-A POSTROUTING -s 198.19.${c.index}.0/24 -o ul0 -j MASQUERADE\nCOMMIT\n` });
}

/** A node's way to the underlay: its own link (gateway candidates, possibly behind the NAT router), else a route via the cluster's router or its gateway. */
function underlayLines(lab: string, c: ClusterSpec, n: NodeSpec, mtu?: number): string[] {
  const ul = underlayNs(lab);
  if (n.underlayIp && c.nat) {
    // Behind the NAT router: only the router is on the underlay.
    return [
      `link add ul0${mtuOpt(mtu)} type veth peer name in0${mtuOpt(mtu)} netns ${c.nat.ns}`,
      `address add ${n.underlayIp}/${c.nat.insidePrefix} dev ul0`,
      "link set ul0 up",
      `route add 198.18.0.0/15 via ${c.nat.insideIp}`,
    ];
  }
  if (n.underlayIp) {
    return [
      `link add ul0${mtuOpt(mtu)} type veth peer name ${c.id}${n.name}${mtuOpt(mtu)} netns ${ul}`,
      `address add ${n.underlayIp}/${LAB.underlayPrefix} dev ul0`,
      "link set ul0 up",
    ];
  }
  // Other nodes reach the broker through the cluster's router, or (one gateway) the gateway node; masqueraded there.
  const via = c.router?.lanIp ?? c.nodes.find((x) => x.gateway)?.lanIp;
  return via ? [`route add 198.18.0.0/${LAB.underlayPrefix} via ${via}`] : [];
}

/** The lab "CNI" and "kube-proxy" rules of one node (with flannel, the masquerade is flannel's own). */
function nodeFilter(c: ClusterSpec, onUnderlay: boolean, flannel: boolean): string {
  const nat = ["*nat"];
  for (const s of c.services) {
    for (const chain of ["PREROUTING", "OUTPUT"]) {
      nat.push(`-A ${chain} -d ${s.vip}/32 -p tcp -m tcp --dport ${s.port} -j DNAT --to-destination ${s.backendIp}:${s.backendPort}`);
    }
  }
  // What a CNI does for pod traffic leaving the cluster network: Causeway must bypass this.
  if (!flannel) nat.push(`-A POSTROUTING -s ${c.podCidr} ! -d ${c.podCidr} -j MASQUERADE`);
  if (onUnderlay) nat.push(`-A POSTROUTING -s 198.19.${c.index}.0/24 -o ul0 -j MASQUERADE`);
  nat.push("COMMIT");
  return `${nat.join("\n")}\n`;
}
