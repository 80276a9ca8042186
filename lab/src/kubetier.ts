import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { globalnetSettings, SYSTEM_NAMESPACE, ValidationError } from "@causeway/api";
import { kube } from "@causeway/common";
import { BROKER_NAMESPACE, BROKER_PORT, deployBroker, type DeployBrokerOptions } from "@causeway/deploy";
import { buildCluster } from "./build.ts";
import { type AddClusterOptions, nextClusterSpec } from "./clusters.ts";
import { NATS_USER, haNatsUrls } from "./brokerha.ts";
import { waitBroker } from "./brokers.ts";
import { LabError } from "./errors.ts";
import { buildApi, registerCluster } from "./kube.ts";
import type { KubeProxyMode } from "./nodeconfig.ts";
import {
  flannelBinary,
  kubeBinDir,
  labImageArchives,
  startControlPlane,
  startLabPods,
  startNodes,
  waitFlannel,
  waitNodesReady,
  waitWorkloadsReady,
} from "./realnodes.ts";
import { startIn } from "./processes.ts";
import { type LabCluster, type LabCore, script } from "./state.ts";
import { clusterSpec } from "./topology.ts";

/**
 * Kubernetes tier: every cluster at once (each reserves its index before its first
 * await), each with its control plane, its nodes running kubelet, containerd and kube-proxy, the
 * lab's test pods and CoreDNS.
 */
export async function upKube(
  lab: LabCore,
  o: { count: number; nodes: number; pods: number; kubeProxyMode: KubeProxyMode; cni: "bridge" | "flannel"; install: boolean },
): Promise<void> {
  const { count: clusters, nodes, pods, kubeProxyMode, cni } = o;
  const st = lab.state;
  st.kube = { apis: {}, brokerInfo: join(st.dir, "broker-info.subm"), kubeProxyMode, cni };
  lab.save();
  const bin = kubeBinDir();
  const archives = await labImageArchives();
  const flanneld = cni === "flannel" ? flannelBinary() : undefined;
  const entries = Array.from({ length: clusters }, (_, k) => {
    const spec = clusterSpec(st.name, k + 1, nodes, pods, (st.nat ?? []).includes(`c${k + 1}`), st.gateways ?? 1, st.globalnet === true);
    const entry: LabCluster = { spec, siteFile: "", tokenFile: "", processes: [] };
    st.clusters.push(entry);
    return entry;
  });
  lab.save();
  const up = await Promise.allSettled(entries.map((e, k) => upRealCluster(lab, e, { bin, archives, mode: kubeProxyMode, flanneld, first: k === 0 })));
  const failed = up.find((r) => r.status === "rejected");
  if (failed) throw failed.reason;
  if (!o.install) return;
  await deployRealBroker(lab);
  for (const c of st.clusters) {
    await joinCluster(lab, c.spec.id);
    const client = await lab.kubeClient(c.spec.id);
    try {
      await waitWorkloadsReady(client, SYSTEM_NAMESPACE);
    } finally {
      client.close();
    }
  }
}

/**
 * As a user would: deploy-broker on the first cluster, members dialling its NodePort on the first
 * gateway node's underlay address; the lab's admin socket forwards to the broker Service from that
 * node (TLS end to end, checked for the Service's address).
 */
async function deployRealBroker(lab: LabCore): Promise<void> {
  const st = lab.state;
  const first = st.clusters[0];
  const gw = first?.spec.nodes.find((n) => n.gateway);
  if (!st.kube || !first || !gw?.publicIp) throw new LabError("the lab has no first cluster with a gateway node");
  // No --broker-url: deploy-broker picks the gateway node's ExternalIP (its underlay address) with the NodePort.
  const r = await deployBroker({
    kubeconfig: st.kube.apis[first.spec.id]?.kubeconfig,
    out: st.kube.brokerInfo,
    ...natsOptions(lab),
    ...(st.globalnet ? { globalnet: globalnetSettings({ enabled: true }) } : {}),
  });
  if (!r.info.brokerURL.startsWith(`${gw.publicIp}:`)) throw new LabError(`deploy-broker chose ${r.info.brokerURL}, not ${gw.publicIp} (n0's ExternalIP)`);
  st.broker.address = r.info.brokerURL;
  writeFileSync(st.broker.adminTokenFile, `${r.info.adminToken}\n`, { mode: 0o600 });
  const caFile = join(st.dir, "broker-ca.crt");
  writeFileSync(caFile, r.info.ca);
  const client = await lab.kubeClient(first.spec.id);
  try {
    await waitWorkloadsReady(client, BROKER_NAMESPACE);
    const svc = await client.get<{ spec?: { clusterIP?: string } }>(kube.R.service, BROKER_NAMESPACE, "causeway-broker");
    const ip = svc.spec?.clusterIP ?? "";
    const socket = st.broker.socket.replace(/^unix:\/\//, "");
    st.broker.process = startIn(
      gw.ns,
      "broker-forward",
      [st.nodeBin, script("lab/src/tools/forward.ts"), socket, `${ip}:${BROKER_PORT}`],
      join(st.dir, "broker-forward.log"),
    );
    // The Service's DNS name is in the certificate too (a TLS server name must not be an IP address).
    st.broker.adminTls = { caFile, serverName: `causeway-broker.${BROKER_NAMESPACE}.svc` };
  } finally {
    client.close();
  }
  lab.save();
  await waitBroker(lab);
}

async function upRealCluster(
  lab: LabCore,
  entry: LabCluster,
  o: { bin: string; archives: readonly string[]; mode: KubeProxyMode; flanneld: string | undefined; first: boolean },
): Promise<void> {
  const st = lab.state;
  const spec = entry.spec;
  await buildCluster(lab.run, st.name, spec, st.mtu, { realNodes: true, flannel: o.flanneld !== undefined });
  const api = await buildApi(lab.run, st.name, st.dir, spec, st.mtu);
  if (!st.kube) throw new LabError("the lab has no Kubernetes tier");
  st.kube.apis[spec.id] = api;
  entry.processes.push(...startControlPlane(o.bin, api));
  lab.save();
  const client = await lab.kubeClient(spec.id);
  try {
    await registerCluster(client, spec);
    await startNodes(lab, entry, { bin: o.bin, archives: o.archives, kubeconfig: api.lanKubeconfig ?? api.kubeconfig, mode: o.mode, flanneld: o.flanneld });
    await waitNodesReady(client, entry);
    if (o.flanneld) await waitFlannel(lab, entry);
    await startLabPods(lab, client, entry, o.first);
  } finally {
    client.close();
  }
}

/**
 * One more real cluster (`lab add-cluster` on the Kubernetes tier): its control plane and nodes as
 * `lab up` makes them, then `causeway join`; in a globalnet lab `distinctCidrs` gives it CIDRs of
 * its own instead of kind's, `globalnetCidr` names its global CIDR (join --globalnet-cidr).
 */
export async function addKubeCluster(lab: LabCore, o: AddClusterOptions = {}): Promise<LabCluster> {
  const st = lab.state;
  if (!st.kube) throw new LabError("the lab has no Kubernetes tier");
  // Real nodes are heavier: two by default.
  const spec = nextClusterSpec(st, o, 2);
  const entry: LabCluster = { spec, siteFile: "", tokenFile: "", processes: [] };
  st.clusters.push(entry);
  lab.save();
  const mode = st.kube.kubeProxyMode;
  const flanneld = st.kube.cni === "flannel" ? flannelBinary() : undefined;
  await upRealCluster(lab, entry, { bin: kubeBinDir(), archives: await labImageArchives(), mode, flanneld, first: false });
  await joinCluster(lab, spec.id, o.globalnetCidr ? ["--globalnet-cidr", o.globalnetCidr] : []);
  const client = await lab.kubeClient(spec.id);
  try {
    await waitWorkloadsReady(client, SYSTEM_NAMESPACE);
  } finally {
    client.close();
  }
  return entry;
}

/** deploy-broker's NATS settings when the lab has a NATS cluster (--backend nats, its servers, credentials and CA; the bucket on all three nodes). */
function natsOptions(lab: LabCore): Pick<DeployBrokerOptions, "nats"> {
  const ha = lab.state.broker.ha;
  if (!ha) return {};
  return {
    nats: {
      servers: haNatsUrls(ha),
      streamReplicas: 3,
      replicas: ha.replicas.length,
      user: NATS_USER,
      password: readFileSync(ha.passwordFile, "utf8").trim(),
      ca: readFileSync(ha.tls.caFile, "utf8"),
    },
  };
}

/** Runs `causeway join` for a cluster from the broker's namespace (where both the broker and the API servers are reachable); the lab's cable driver and gateway mode unless `extra` names them. */
export async function joinCluster(lab: LabCore, id: string, extra: readonly string[] = []) {
  const st = lab.state;
  const api = st.kube?.apis[id];
  if (!api || !st.kube) throw new ValidationError(`cluster ${id} has no API server (the lab was not started with --kube)`);
  const driver = extra.includes("--cable-driver") ? [] : ["--cable-driver", st.cable];
  const mode = extra.includes("--gateway-mode") || st.gatewayMode !== "active-active" ? [] : ["--gateway-mode", st.gatewayMode];
  const argv = [
    st.nodeBin,
    script("cli/src/main.ts"),
    "join",
    st.kube.brokerInfo,
    "--kubeconfig",
    api.kubeconfig,
    "--context",
    id,
    ...driver,
    ...mode,
    ...extra,
  ];
  const res = await lab.run.run("ip", ["netns", "exec", st.broker.ns, ...argv], { allowFailure: true, timeoutMs: 120_000 });
  if (res.exitCode !== 0) throw new LabError(`causeway join ${id} failed (exit ${res.exitCode}): ${res.stderr.trim() || res.stdout.trim()}`);
  return res;
}
