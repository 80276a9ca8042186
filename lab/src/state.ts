import { join } from "node:path";
import type { CommandRunner, IntraClusterMode, kube } from "@causeway/common";
import type { GatewayMode } from "@causeway/api";
import type { BrokerConnection } from "@causeway/common/broker-client";
import type { LabBrokerHa, LabTlsFiles } from "./brokerha.ts";
import type { LabApi } from "./kube.ts";
import { REPO_ROOT } from "./paths.ts";
import type { LabProcess } from "./processes.ts";
import type { LabService } from "./services.ts";
import type { ClusterSpec } from "./topology.ts";

export interface LabCluster {
  readonly spec: ClusterSpec;
  readonly siteFile: string;
  readonly tokenFile: string;
  readonly processes: LabProcess[];
  /** Services made with `causeway lab service add`. */
  services?: LabService[];
  /** The cluster's CoreDNS pod (standalone labs): cluster.local, clusterset.local forwarded to the lighthouse. */
  dns?: { readonly ns: string; readonly ip: string; readonly zoneFile: string; serial: number };
  /** Globalnet: the global CIDR the cluster joined with (absent: the broker's pick). */
  globalnetCidr?: string;
}

export interface LabState {
  readonly name: string;
  readonly dir: string;
  readonly cable: string;
  /** How non-gateway nodes reach their gateway (site file intraCluster); vxlan in labs made before it existed. */
  readonly intraCluster?: IntraClusterMode;
  /** Clusters whose gateway sits behind a NAT router. */
  readonly nat?: readonly string[];
  /** The underlay's MTU when not 1500. */
  readonly mtu?: number;
  /** Gateway candidates per cluster when more than one (n0..n(k-1)). */
  readonly gateways?: number;
  /** active-active: every gateway candidate is active (site file gatewayMode); absent: active-passive. */
  readonly gatewayMode?: GatewayMode;
  /** Flags every gateway gets beyond --site and --node (health-check settings). */
  readonly gatewayFlags?: readonly string[];
  /** Flags every lighthouse gets beyond --site and --node (what DNS answers). */
  readonly lighthouseFlags?: readonly string[];
  /** Globalnet: clusters have kind's CIDRs (all the same) and the broker runs --globalnet. */
  readonly globalnet?: boolean;
  readonly nodeBin: string;
  readonly broker: {
    readonly ns: string;
    /** What components dial: host:port, or every replica's host:port (backend nats). */
    address: string;
    readonly socket: string;
    readonly adminTokenFile: string;
    process?: LabProcess;
    /** Backend nats: the NATS cluster and the broker replicas (the first one is `process`). */
    ha?: LabBrokerHa;
    /** Real nodes: the broker is a pod; `socket` forwards to its Service, TLS checked for `serverName` against `caFile`. */
    adminTls?: { readonly caFile: string; readonly serverName: string };
    /** --broker-tls: the broker serves TLS on its underlay address(es); components check it against this CA. */
    tls?: LabTlsFiles;
  };
  readonly clusters: LabCluster[];
  /** Standalone: clusters start without their DNS until startDns() (UpOptions.deferDns). */
  dnsDeferred?: boolean;
  /** Kubernetes tier: each cluster's API server, and the broker-info deploy-broker wrote. */
  kube?: {
    readonly apis: Record<string, LabApi>;
    brokerInfo: string;
    /** kube-proxy's mode on the nodes (kubelet, containerd, kube-proxy per node). */
    readonly kubeProxyMode: "iptables" | "nftables";
    /** The nodes' pod network: bridge (the lab's routes between nodes) or flannel (VXLAN). */
    readonly cni: "bridge" | "flannel";
  };
}

/** What the lab's parts (broker, clusters, services, Kubernetes tier) share: its state and how to act on it. */
export interface LabCore {
  readonly state: LabState;
  /** Runs the lab's commands (ip, iptables-restore, ...). */
  readonly run: CommandRunner;
  /** Writes state.json (after every change, so `lab down` finds everything after a crash). */
  save(): void;
  /** The cluster by id; ValidationError naming the lab's clusters otherwise. */
  cluster(id: string): LabCluster;
  /** An admin connection through a broker's socket. */
  admin(replica?: number): BrokerConnection;
  /** An admin client for a cluster's API server (Kubernetes tier). */
  kubeClient(id: string): Promise<kube.KubeClient>;
}

/** A file of the checkout the lab runs (a component's main.ts, a lab tool). */
export const script = (rel: string): string => join(REPO_ROOT, rel);

/** A lab file of a cluster: `<dir>/<cluster>-<what>.log`. */
export const clusterLog = (st: LabState, c: LabCluster, what: string): string => join(st.dir, `${c.spec.id}-${what}.log`);
