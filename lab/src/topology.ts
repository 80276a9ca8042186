import { ValidationError } from "@causeway/api";

/** Lab addressing (everything inside 198.18.0.0/15, ARCHITECTURE §8). */
export const LAB = {
  brokerIp: "198.18.0.2",
  brokerPort: 7400,
  underlayPrefix: 16,
  servicePort: 80,
  echoPort: 8080,
  maxClusters: 50,
  maxNodes: 20,
  maxPods: 10,
} as const;

export interface PodSpec {
  readonly name: string;
  readonly ns: string;
  readonly ip: string;
  /** The node-side veth. */
  readonly hostIf: string;
}

export interface NodeSpec {
  readonly name: string;
  readonly ns: string;
  /** Address on the cluster LAN. */
  readonly lanIp: string;
  /** Underlay address (gateway nodes only); behind NAT, its address on the NAT router's inside network. */
  readonly underlayIp?: string | undefined;
  /** Where other clusters reach this gateway: its underlay address, or the NAT router's (gateway nodes only). */
  readonly publicIp?: string | undefined;
  /** The node's WireGuard device: unique on the host (wireguard-go's control sockets are host-wide). */
  readonly wgInterface: string;
  readonly podCidr: string;
  readonly cniIp: string;
  readonly gateway: boolean;
  readonly pods: readonly PodSpec[];
}

export interface ServiceSpec {
  readonly name: string;
  readonly namespace: string;
  readonly vip: string;
  readonly port: number;
  readonly backendIp: string;
  readonly backendPort: number;
}

/** A NAT router between a cluster's gateway and the underlay: masquerades outbound, forwards UDP 4500/4490 inbound. */
export interface NatRouterSpec {
  readonly ns: string;
  /** Its address on the underlay: the cluster's public IP. */
  readonly publicIp: string;
  /** Its address on the inside network, the gateway's next hop. */
  readonly insideIp: string;
  readonly insidePrefix: number;
}

/** With several gateway candidates: the cluster's own router to the underlay (in the switch namespace), so nodes reach the broker whichever gateway is up. */
export interface ClusterRouterSpec {
  /** Its address on the cluster LAN: the other nodes' next hop to the underlay. */
  readonly lanIp: string;
  readonly underlayIp: string;
}

export interface ClusterSpec {
  readonly id: string;
  readonly index: number;
  readonly nat?: NatRouterSpec | undefined;
  readonly router?: ClusterRouterSpec | undefined;
  readonly podCidr: string;
  readonly serviceCidr: string;
  readonly switchNs: string;
  readonly nodes: readonly NodeSpec[];
  readonly services: readonly ServiceSpec[];
}

export function validateLabName(name: string): void {
  if (!/^[a-z][a-z0-9]{0,7}$/.test(name)) {
    throw new ValidationError(`lab name "${name}" must be 1-8 lowercase letters/digits starting with a letter (it prefixes every namespace)`);
  }
}

/** Throws a ValidationError unless `v` is a whole number in 1..max. */
export function wholeInRange(what: string, v: number, max: number): void {
  if (!Number.isInteger(v) || v < 1 || v > max) throw new ValidationError(`${what} must be 1..${max}, got ${v}`);
}

/**
 * Pure: names and addresses of cluster c<index>; with `nat`, its gateway sits behind a NAT router
 * (inside network 198.19.(200+index).0/24). Nodes n0..n(gateways-1) are gateway candidates, each
 * on the underlay at 198.18.index.(10+k); with more than one, the cluster gets its own router.
 */
export function clusterSpec(lab: string, index: number, nodes: number, podsPerNode = 1, nat = false, gateways = 1): ClusterSpec {
  wholeInRange("cluster index", index, LAB.maxClusters);
  wholeInRange("--nodes", nodes, LAB.maxNodes);
  wholeInRange("--pods", podsPerNode, LAB.maxPods);
  wholeInRange("--gateways", gateways, nodes);
  if (nat && gateways > 1) throw new ValidationError("--nat takes clusters with one gateway (--gateways 1)");
  const id = `c${index}`;
  const nodeSpecs: NodeSpec[] = [];
  for (let k = 0; k < nodes; k++) {
    const ns = `${lab}-${id}-n${k}`;
    nodeSpecs.push({
      name: `n${k}`,
      ns,
      lanIp: `198.19.${index}.${10 + k}`,
      underlayIp: k < gateways ? (nat ? `198.19.${200 + index}.10` : `198.18.${index}.${10 + k}`) : undefined,
      publicIp: k < gateways ? `198.18.${index}.${10 + k}` : undefined,
      wgInterface: `${lab}${id}n${k}`,
      podCidr: `10.${index}.${k}.0/24`,
      cniIp: `10.${index}.${k}.1`,
      gateway: k < gateways,
      pods: Array.from({ length: podsPerNode }, (_, p) => ({ name: `p${p}`, ns: `${ns}-p${p}`, ip: `10.${index}.${k}.${10 + p}`, hostIf: `vp${p}` })),
    });
  }
  const backend = (nodeSpecs[1] ?? nodeSpecs[0])?.pods[0];
  return {
    id,
    index,
    podCidr: `10.${index}.0.0/16`,
    serviceCidr: `10.${100 + index}.0.0/16`,
    switchNs: `${lab}-${id}-sw`,
    nat: nat ? { ns: `${lab}-${id}-nat`, publicIp: `198.18.${index}.10`, insideIp: `198.19.${200 + index}.1`, insidePrefix: 24 } : undefined,
    router: gateways > 1 ? { lanIp: `198.19.${index}.1`, underlayIp: `198.18.${index}.254` } : undefined,
    nodes: nodeSpecs,
    services: backend
      ? [{ name: "echo", namespace: "default", vip: `10.${100 + index}.0.10`, port: LAB.servicePort, backendIp: backend.ip, backendPort: LAB.echoPort }]
      : [],
  };
}

export function underlayNs(lab: string): string {
  return `${lab}-ul`;
}

export function brokerNs(lab: string): string {
  return `${lab}-broker`;
}

/** Pure: the address of the kubernetes Service in a service CIDR (its first host address: 10.101.0.0/16 → 10.101.0.1). */
export function firstServiceIp(cidr: string): string {
  const [ip = ""] = cidr.split("/");
  const n = ip.split(".").reduce((a, o) => a * 256 + Number(o), 0) + 1;
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");
}
