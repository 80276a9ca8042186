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
  /** The first two octets of the cluster's service addresses (10.101 for c1; 10.96 with kind's CIDRs). */
  readonly serviceBase: string;
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
export function clusterSpec(lab: string, index: number, nodes: number, podsPerNode = 1, nat = false, gateways = 1, kindCidrs = false): ClusterSpec {
  wholeInRange("cluster index", index, LAB.maxClusters);
  wholeInRange("--nodes", nodes, LAB.maxNodes);
  wholeInRange("--pods", podsPerNode, LAB.maxPods);
  wholeInRange("--gateways", gateways, nodes);
  if (nat && gateways > 1) throw new ValidationError("--nat takes clusters with one gateway (--gateways 1)");
  const id = `c${index}`;
  // kind's defaults (globalnet labs): every cluster has the same pod and service CIDRs.
  const pod = kindCidrs ? "10.244" : `10.${index}`;
  const serviceBase = kindCidrs ? "10.96" : `10.${100 + index}`;
  const nodeSpecs = Array.from({ length: nodes }, (_, k) => nodeSpec(lab, { index, k, pod, podsPerNode, nat, gateway: k < gateways }));
  const backend = (nodeSpecs[1] ?? nodeSpecs[0])?.pods[0];
  return {
    id,
    index,
    podCidr: `${pod}.0.0/16`,
    serviceCidr: kindCidrs ? "10.96.0.0/12" : `${serviceBase}.0.0/16`,
    serviceBase,
    switchNs: `${lab}-${id}-sw`,
    nat: nat ? { ns: `${lab}-${id}-nat`, publicIp: `198.18.${index}.10`, insideIp: `198.19.${200 + index}.1`, insidePrefix: 24 } : undefined,
    router: gateways > 1 ? { lanIp: `198.19.${index}.1`, underlayIp: `198.18.${index}.254` } : undefined,
    nodes: nodeSpecs,
    services: backend
      ? [{ name: "echo", namespace: "default", vip: `${serviceBase}.0.10`, port: LAB.servicePort, backendIp: backend.ip, backendPort: LAB.echoPort }]
      : [],
  };
}

/** Pure: node n<k> of cluster c<index>, its pods' addresses in `<pod>.<k>.0/24`. */
function nodeSpec(lab: string, o: { index: number; k: number; pod: string; podsPerNode: number; nat: boolean; gateway: boolean }): NodeSpec {
  const { index, k, pod } = o;
  const ns = `${lab}-c${index}-n${k}`;
  return {
    name: `n${k}`,
    ns,
    lanIp: `198.19.${index}.${10 + k}`,
    underlayIp: o.gateway ? (o.nat ? `198.19.${200 + index}.10` : `198.18.${index}.${10 + k}`) : undefined,
    publicIp: o.gateway ? `198.18.${index}.${10 + k}` : undefined,
    wgInterface: `${lab}c${index}n${k}`,
    podCidr: `${pod}.${k}.0/24`,
    cniIp: `${pod}.${k}.1`,
    gateway: o.gateway,
    pods: Array.from({ length: o.podsPerNode }, (_, p) => ({ name: `p${p}`, ns: `${ns}-p${p}`, ip: `${pod}.${k}.${10 + p}`, hostIf: `vp${p}` })),
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
