import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Cluster } from "@causeway/api";
import { stringify as toYaml } from "yaml";
import { startBroker } from "./brokers.ts";
import { buildCluster } from "./build.ts";
import { startClusterDns } from "./clusterdns.ts";
import { destroyNamespaces, type LabProcess, startIn, stopProcess } from "./processes.ts";
import { removePodResolvConfs } from "./dns.ts";
import { siteServiceOf } from "./services.ts";
import { clusterLog, type LabCluster, type LabCore, type LabState, script } from "./state.ts";
import { type ClusterSpec, clusterSpec, LAB, type NodeSpec } from "./topology.ts";

/** A standalone lab's broker and clusters: every cluster at once (each reserves its index before its first await); all settle before a failure is reported, so cleanup finds everything. */
export async function upStandalone(lab: LabCore, o: { count: number; nodes: number; pods: number; deferDns: boolean }): Promise<void> {
  // The clusterset's cable secret, as deploy-broker makes it for broker-info.
  writeFileSync(join(lab.state.dir, "cable-secret"), `${randomBytes(48).toString("base64")}\n`, { mode: 0o600 });
  await startBroker(lab);
  if (o.deferDns) lab.state.dnsDeferred = true;
  const added = await Promise.allSettled(Array.from({ length: o.count }, () => addCluster(lab, { nodes: o.nodes, pods: o.pods })));
  const failed = added.find((r) => r.status === "rejected");
  if (failed) throw failed.reason;
}

/** What `lab add-cluster` takes, in either tier. */
export interface AddClusterOptions {
  readonly nodes?: number;
  readonly pods?: number;
  /** In a globalnet lab: CIDRs of its own instead of kind's. */
  readonly distinctCidrs?: boolean;
  /** Globalnet: the global CIDR it joins with. */
  readonly globalnetCidr?: string;
}

/** Pure: the spec of the lab's next cluster (the next index; kind's CIDRs in a globalnet lab unless `distinctCidrs`; no more gateway candidates than nodes). */
export function nextClusterSpec(st: LabState, o: AddClusterOptions, defaultNodes: number): ClusterSpec {
  const index = Math.max(0, ...st.clusters.map((c) => c.spec.index)) + 1;
  const nodes = o.nodes ?? defaultNodes;
  const kindCidrs = st.globalnet === true && o.distinctCidrs !== true;
  return clusterSpec(st.name, index, nodes, o.pods ?? 1, (st.nat ?? []).includes(`c${index}`), Math.min(st.gateways ?? 1, nodes), kindCidrs);
}

/** Builds one more cluster, joins it to the broker and starts its processes. */
export async function addCluster(lab: LabCore, o: AddClusterOptions = {}): Promise<LabCluster> {
  const st = lab.state;
  const spec = nextClusterSpec(st, o, 3);
  const entry: LabCluster = {
    spec,
    siteFile: join(st.dir, `${spec.id}.site.yaml`),
    tokenFile: join(st.dir, `${spec.id}.token`),
    processes: [],
  };
  st.clusters.push(entry);
  lab.save();
  await buildCluster(lab.run, st.name, spec, st.mtu);
  const cluster: Cluster = {
    cluster_id: spec.id,
    cluster_cidr: [spec.podCidr],
    service_cidr: [spec.serviceCidr],
    global_cidr: o.globalnetCidr ? [o.globalnetCidr] : [],
  };
  const admin = lab.admin();
  try {
    const { token } = await admin.join(cluster);
    writeFileSync(entry.tokenFile, `${token}\n`, { mode: 0o600 });
  } finally {
    admin.close();
  }
  if (o.globalnetCidr) entry.globalnetCidr = o.globalnetCidr;
  writeSiteFile(st, entry);
  startClusterProcesses(st, entry);
  lab.save();
  if (!st.dnsDeferred) {
    await startClusterDns(lab, entry);
    lab.save();
  }
  return entry;
}

/** The DNS of every cluster that came up without it (UpOptions.deferDns), all at once; from now on clusters get theirs as they come. */
export async function startDeferredDns(lab: LabCore): Promise<void> {
  const st = lab.state;
  delete st.dnsDeferred;
  await Promise.all(st.clusters.filter((c) => !c.dns).map((c) => startClusterDns(lab, c)));
  lab.save();
}

/** The cluster leaves the clusterset (broker records removed first, so peers drop their routes), then its namespaces go. */
export async function removeCluster(lab: LabCore, clusterId: string): Promise<void> {
  const c = lab.cluster(clusterId);
  const admin = lab.admin();
  try {
    await admin.leave(clusterId);
  } finally {
    admin.close();
  }
  await Promise.all(c.processes.map((p) => stopProcess(p.pid, 1000)));
  const names = [
    c.spec.switchNs,
    ...(c.spec.nat ? [c.spec.nat.ns] : []),
    ...c.spec.nodes.flatMap((n) => [n.ns, ...n.pods.map((p) => p.ns)]),
    ...(c.services ?? []).flatMap((s) => s.pods.map((p) => p.ns)),
    ...(c.dns ? [c.dns.ns] : []),
  ];
  await destroyNamespaces(lab.run, names);
  removePodResolvConfs(names);
  for (const f of [c.siteFile, c.tokenFile]) rmSync(f, { force: true });
  lab.state.clusters.splice(lab.state.clusters.indexOf(c), 1);
  lab.save();
}

/** Standalone: starts the gateway of gateway node `n` (role gateway/<node>). */
export function startGateway(st: LabState, c: LabCluster, n: NodeSpec): LabProcess {
  const p = startIn(
    n.ns,
    `gateway/${n.name}`,
    [st.nodeBin, script("gateway/src/main.ts"), "--site", c.siteFile, "--node", n.name, ...(st.gatewayFlags ?? [])],
    clusterLog(st, c, `${n.name}-gateway`),
    { CAUSEWAY_WG_INTERFACE: n.wgInterface },
  );
  c.processes.push(p);
  return p;
}

/** Standalone: each node's gateway (gateway nodes) and route agent, the lighthouse on n0, and the pods' echo servers. */
function startClusterProcesses(st: LabState, c: LabCluster): void {
  const bin = st.nodeBin;
  for (const n of c.spec.nodes) {
    if (n.gateway) startGateway(st, c, n);
    c.processes.push(
      startIn(
        n.ns,
        `route-agent/${n.name}`,
        [bin, script("route-agent/src/main.ts"), "--site", c.siteFile, "--node", n.name],
        clusterLog(st, c, `${n.name}-route-agent`),
      ),
    );
  }
  // The cluster's clusterset DNS server (and export keeper) on n0, port 53 of its LAN address.
  const dnsNode = c.spec.nodes[0];
  if (dnsNode) {
    c.processes.push(
      startIn(
        dnsNode.ns,
        `lighthouse/${dnsNode.name}`,
        [bin, script("lighthouse/src/main.ts"), "--site", c.siteFile, "--node", dnsNode.name, ...(st.lighthouseFlags ?? [])],
        clusterLog(st, c, `${dnsNode.name}-lighthouse`),
      ),
    );
  }
  startPods(st, c);
}

/** Every lab pod's echo server (answers "<cluster>/<node>/<pod>"). */
export function startPods(st: LabState, c: LabCluster): void {
  for (const n of c.spec.nodes) {
    for (const p of n.pods) {
      c.processes.push(
        startIn(
          p.ns,
          `echo/${n.name}/${p.name}`,
          [st.nodeBin, script("lab/src/tools/echo.ts"), "--port", String(LAB.echoPort), "--name", `${c.spec.id}/${n.name}/${p.name}`],
          clusterLog(st, c, `${n.name}-${p.name}-echo`),
        ),
      );
    }
  }
}

/** wireguard-go's control sockets of a lab's devices, left behind when wireguard-go was killed. */
export function removeWireGuardSockets(lab: string, dir = "/var/run/wireguard"): void {
  if (!existsSync(dir)) return;
  // Each node's device, and its active-active planes' (<device>-<k>).
  const mine = new RegExp(`^${lab}c\\d+n\\d+(-\\d+)?\\.sock$`);
  for (const f of readdirSync(dir)) if (mine.test(f)) rmSync(join(dir, f), { force: true });
}

/** Standalone: (re)writes the cluster's site file (the lighthouse re-reads it when it changes). */
export function writeSiteFile(st: LabState, entry: LabCluster): void {
  writeFileSync(entry.siteFile, toYaml(siteOf(entry, st)));
}

function siteOf(entry: LabCluster, st: LabState) {
  const c = entry.spec;
  return {
    clusterId: c.id,
    clusterCIDRs: [c.podCidr],
    serviceCIDRs: [c.serviceCidr],
    ...(entry.globalnetCidr ? { globalnetCIDR: entry.globalnetCidr } : {}),
    cableDriver: st.cable,
    intraCluster: st.intraCluster ?? "vxlan",
    ...(st.gatewayMode ? { gatewayMode: st.gatewayMode } : {}),
    broker: {
      address: st.broker.address,
      tokenFile: join(st.dir, `${c.id}.token`),
      cableSecretFile: join(st.dir, "cable-secret"),
      ...(st.broker.tls ? { caFile: st.broker.tls.caFile } : {}),
    },
    nodes: c.nodes.map((n) => ({
      name: n.name,
      ip: n.lanIp,
      podCIDR: n.podCidr,
      cniIP: n.cniIp,
      gateway: n.gateway,
      ...(n.publicIp ? { publicIp: `ipv4:${n.publicIp}` } : {}),
    })),
    // The lab's services, exportable with `causeway export service <name> -n <ns> --context <cluster>`.
    services: [
      ...c.services.map((s) => ({
        namespace: s.namespace,
        name: s.name,
        type: "ClusterSetIP",
        ip: s.vip,
        ports: [{ name: "http", protocol: "TCP", port: s.port, targetPort: s.backendPort }],
        endpoints: [{ ip: s.backendIp }],
      })),
      ...(entry.services ?? []).map(siteServiceOf),
    ],
  };
}
