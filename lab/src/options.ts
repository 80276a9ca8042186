import { CABLE_DRIVERS, errorMessage, GATEWAY_MODES, type GatewayMode, healthCheckSettings, UnknownCableDriverError, ValidationError } from "@causeway/api";
import { INTRA_CLUSTER_MODES } from "@causeway/common";
import { MAX_BROKER_REPLICAS } from "./brokerha.ts";
import { clusterSpec, LAB, validateLabName, wholeInRange } from "./topology.ts";
import type { IntraClusterMode } from "@causeway/common";

export interface UpOptions {
  readonly name?: string;
  readonly clusters?: number;
  readonly nodes?: number;
  readonly pods?: number;
  readonly cable?: string;
  readonly intraCluster?: IntraClusterMode;
  /**
   * Kubernetes tier: per cluster a control plane (etcd, kube-apiserver, controller manager,
   * scheduler) and real nodes (containerd, kubelet, kube-proxy each); Causeway installed with
   * deploy-broker + join and run by the kubelets as pods from its image.
   */
  readonly kube?: boolean;
  /** Kubernetes tier: false leaves Causeway out (no deploy-broker, no join), for a test that installs it as a user would. Default true. */
  readonly install?: boolean;
  /** Kubernetes tier: the pod network — Debian's bridge + host-local with the lab's routes between nodes (default), or flannel (its VXLAN backend, its masquerade rules) beside the same bridge. */
  readonly cni?: "bridge" | "flannel";
  /** Kubernetes tier: kube-proxy's mode (default iptables). */
  readonly kubeProxyMode?: "iptables" | "nftables";
  /** Cluster ids (c2, …) whose gateway sits behind a NAT router that masquerades it; its public IP is the router's. */
  readonly nat?: readonly string[];
  /** Underlay MTU (576..9000; default 1500). */
  readonly mtu?: number;
  /** Gateway candidates per cluster (default 1): nodes n0..n(k-1), one active at a time (active-passive) or all at once (active-active). */
  readonly gateways?: number;
  /** active-passive (default) or active-active: every gateway node carries cross-cluster traffic (docs/architecture.md). */
  readonly gatewayMode?: GatewayMode;
  /** Gateways' health-check interval in seconds (≥ 0.1; the gateway's default 1 s when absent). */
  readonly healthCheckInterval?: number;
  /** Gateways' health-check loss threshold (≥ 1; default 5). */
  readonly healthCheckMaxPacketLossCount?: number;
  /** The broker's store: sqlite (one broker, default) or nats (a 3-node NATS cluster and --broker-replicas brokers). */
  readonly brokerBackend?: "sqlite" | "nats";
  /** Broker replicas on the NATS bucket (1..3; default 3 with nats). */
  readonly brokerReplicas?: number;
  /** Standalone labs: the broker serves TLS (a CA and certificate made for its addresses); components get the CA in their site files. */
  readonly brokerTls?: boolean;
  /** Standalone labs: the clusters come up without their DNS (CoreDNS) until `lab.startDns()` — the demo starts its lab while CoreDNS builds. */
  readonly deferDns?: boolean;
  /** Standalone labs: what lighthouse answers for a ClusterSetIP service (its --answer): the clusterset IP (default) or the chosen cluster's Service IP (Submariner's answer). */
  readonly dnsAnswer?: "clusterset-ip" | "cluster-ip";
  /**
   * Overlapping CIDRs: every cluster gets kind's defaults (pods 10.244.0.0/16, services
   * 10.96.0.0/12) and the broker runs globalnet (each cluster a /16 of 242.0.0.0/8).
   */
  readonly globalnet?: boolean;
}

/** Defaults and validates `lab up` options; throws ValidationError / UnknownCableDriverError naming what is supported. */
export function upOptions(o: UpOptions) {
  const name = o.name ?? "cw";
  validateLabName(name);
  const cable = o.cable ?? "vxlan";
  if (!(CABLE_DRIVERS as readonly string[]).includes(cable)) {
    throw new UnknownCableDriverError(`unknown cable driver "${cable}"; supported: ${CABLE_DRIVERS.join(", ")}`);
  }
  const intraCluster = o.intraCluster ?? "vxlan";
  if (!(INTRA_CLUSTER_MODES as readonly string[]).includes(intraCluster)) {
    throw new ValidationError(`unknown intra-cluster mode "${intraCluster}"; supported: ${INTRA_CLUSTER_MODES.join(", ")}`);
  }
  const clusters = o.clusters ?? 2;
  wholeInRange("--clusters", clusters, LAB.maxClusters);
  // Real nodes are heavier (containerd, kubelet, kube-proxy each): the Kubernetes tier defaults to 2.
  const nodes = o.nodes ?? (o.kube ? 2 : 3);
  const pods = o.pods ?? 1;
  const gateways = o.gateways ?? 1;
  const nat = labNat(o.nat ?? [], clusters);
  clusterSpec(name, 1, nodes, pods, nat.length > 0, gateways); // validates nodes, pods, gateways
  const gatewayMode = labGatewayMode(o);
  standaloneOnly(o);
  labMtu(o.mtu);
  if (o.dnsAnswer !== undefined && !["clusterset-ip", "cluster-ip"].includes(o.dnsAnswer))
    throw new ValidationError(`dnsAnswer ${String(o.dnsAnswer)}: supported: clusterset-ip, cluster-ip`);
  return {
    name,
    cable,
    intraCluster,
    clusters,
    nodes,
    pods,
    nat,
    mtu: o.mtu,
    gateways,
    gatewayMode,
    gatewayFlags: healthCheckFlags(o),
    lighthouseFlags: o.dnsAnswer === undefined ? [] : ["--answer", o.dnsAnswer],
    brokerReplicas: brokerReplicasOf(o),
    globalnet: o.globalnet === true,
  };
}

/**
 * The lab's gateway mode (default active-passive): active-active runs on standalone labs and the
 * Kubernetes tier, with or without globalnet (docs/architecture.md).
 */
function labGatewayMode(o: UpOptions): GatewayMode {
  const mode = o.gatewayMode ?? "active-passive";
  if (!(GATEWAY_MODES as readonly string[]).includes(mode)) throw new ValidationError(`--gateway-mode ${String(mode)}: supported: ${GATEWAY_MODES.join(", ")}`);
  return mode;
}

/** Options that take standalone labs only: refused with --kube; and what the Kubernetes tier takes. */
function standaloneOnly(o: UpOptions): void {
  kubeOnly(o);
  if (!o.kube) return;
  if (o.deferDns) throw new ValidationError("deferDns takes standalone labs (the Kubernetes tier starts each cluster's DNS as it joins)");
  if (o.dnsAnswer !== undefined) throw new ValidationError("dnsAnswer takes standalone labs (in the Kubernetes tier lighthouse runs as its Deployment says)");
  if (o.healthCheckInterval !== undefined || o.healthCheckMaxPacketLossCount !== undefined)
    throw new ValidationError("--health-check-* take standalone labs: in the Kubernetes tier the gateways run as their DaemonSet says");
}

function kubeOnly(o: UpOptions): void {
  if (o.kubeProxyMode !== undefined && !o.kube) throw new ValidationError("--kube-proxy-mode takes --kube (kube-proxy runs on the Kubernetes tier's nodes)");
  if (o.kubeProxyMode !== undefined && !["iptables", "nftables"].includes(o.kubeProxyMode))
    throw new ValidationError(`--kube-proxy-mode ${String(o.kubeProxyMode)}: supported: iptables, nftables`);
  if (o.cni !== undefined && !o.kube) throw new ValidationError("--cni takes --kube (the pod network of the Kubernetes tier's nodes)");
  if (o.cni !== undefined && !["bridge", "flannel"].includes(o.cni)) throw new ValidationError(`--cni ${String(o.cni)}: supported: bridge, flannel`);
  if (o.install === false && !o.kube) throw new ValidationError("install: false takes --kube (a standalone lab is Causeway's own sites)");
  if (o.kube && o.nat?.includes("c1")) throw new ValidationError("--kube: c1 holds the broker (its NodePort on c1's gateway); put another cluster behind NAT");
}

/** With --broker-backend nats: how many broker replicas (default 3); undefined for the single SQLite broker. */
function brokerReplicasOf(o: UpOptions): number | undefined {
  const backend = o.brokerBackend ?? "sqlite";
  if (backend !== "sqlite" && backend !== "nats") throw new ValidationError(`unknown broker backend "${String(backend)}"; supported: sqlite, nats`);
  if (backend === "sqlite") {
    if (o.brokerReplicas !== undefined && o.brokerReplicas !== 1)
      throw new ValidationError("--broker-replicas > 1 needs --broker-backend nats (SQLite serves one broker)");
    return undefined;
  }
  if (o.kube && o.brokerTls) throw new ValidationError("--broker-tls takes standalone labs (with --kube, deploy-broker serves TLS already)");
  const n = o.brokerReplicas ?? 3;
  wholeInRange("--broker-replicas", n, MAX_BROKER_REPLICAS);
  return n;
}

/** The gateways' health-check flags from the lab options, checked by the cluster configuration's own rules. */
function healthCheckFlags(o: UpOptions): string[] {
  const { healthCheckInterval: interval, healthCheckMaxPacketLossCount: loss } = o;
  if (interval === undefined && loss === undefined) return [];
  try {
    healthCheckSettings({ healthCheckInterval: interval ?? 1, healthCheckMaxPacketLossCount: loss ?? 5 });
  } catch (err) {
    throw new ValidationError(errorMessage(err));
  }
  return [
    ...(interval === undefined ? [] : ["--health-check-interval", String(interval)]),
    ...(loss === undefined ? [] : ["--health-check-max-packet-loss-count", String(loss)]),
  ];
}

/** The --nat cluster ids, each a cluster of the lab; ValidationError otherwise. */
function labNat(ids: readonly string[], clusters: number): string[] {
  const nat = [...new Set(ids)];
  for (const id of nat) {
    const i = /^c(\d+)$/.exec(id)?.[1];
    if (!i || Number(i) < 1 || Number(i) > clusters) throw new ValidationError(`--nat ${id}: not a cluster of this lab (c1..c${clusters})`);
  }
  return nat;
}

function labMtu(mtu: number | undefined): void {
  if (mtu !== undefined && (!Number.isInteger(mtu) || mtu < 576 || mtu > 9000)) throw new ValidationError(`--mtu must be 576..9000, got ${mtu}`);
}
