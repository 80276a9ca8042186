import {
  type CableDriverName,
  GATEWAY_MODES,
  type GatewayMode,
  type GatewaySettings,
  INTRA_CLUSTER_MODES,
  type IntraClusterMode,
  parseCableDriver,
  type Cluster,
  ClusterIdSchema,
  ClusterSchema,
  CausewayError,
  formatIssues,
  globalAddresses,
  SYSTEM_NAMESPACE,
  UnauthenticatedError,
  UnavailableError,
  ValidationError,
} from "@causeway/api";
import { CLUSTERSET_DNS_ZONES, kube, view } from "@causeway/common";
import { BrokerConnection } from "@causeway/common/broker-client";
import { applyManifests, preflight, renderManifests, waitCrdsEstablished } from "./apply.ts";
import type { BrokerInfo } from "@causeway/api";
import { readBrokerInfo } from "./brokerinfo.ts";
import { discoverClusterCidrs, discoverServiceCidrs } from "./discover.ts";
import { lighthouseDnsIp, wireCoreDns } from "./coredns.ts";
import { type ImageOverrides, MEMBER_WORKLOADS, memberManifests } from "./manifests.ts";
import { planMcsCrds } from "./mcscrds.ts";
import { waitRollout } from "./rollout.ts";

/** The cluster id is taken at the broker by another cluster. */
export class DuplicateClusterError extends CausewayError {
  override name = "DuplicateClusterError";
  /** Refused input: the message says which flag or permission to give. Exit 2. */
  override readonly exitCode = 2;
}

export interface JoinOptions {
  readonly brokerInfoFile: string;
  readonly kubeconfig?: string;
  readonly context?: string;
  readonly clusterId?: string;
  readonly clusterCidrs?: readonly string[];
  readonly serviceCidrs?: readonly string[];
  /** Where the cluster allocates clusterset IPs from (default: the broker's pick, a free /20 of 243.0.0.0/8). */
  readonly clustersetIpCidr?: string;
  /** With a globalnet broker: this cluster's global CIDR (default: the broker's pick). */
  readonly globalnetCidr?: string;
  /** false: `--globalnet=false`, refused by a globalnet broker (default true: follow the broker). */
  readonly globalnet?: boolean;
  readonly cableDriver?: string;
  readonly intraCluster?: string;
  /** active-passive (default) or active-active. */
  readonly gatewayMode?: string;
  readonly labelGateway?: boolean;
  /** Gateway settings (subctl's --natt, --air-gapped, --health-check…). */
  readonly gateway?: Partial<GatewaySettings>;
  /** A ConfigMap `namespace/name` CoreDNS imports server blocks from (AKS-style coredns-custom) instead of kube-system's. */
  readonly corednsCustomConfigMap?: string;
  readonly dryRun?: boolean;
  /** Images the workloads run instead of the release's (subctl's --image-override). */
  readonly images?: ImageOverrides;
  /** After applying, wait this long for Causeway's pods to roll out (0 or absent: do not wait). */
  readonly waitMs?: number;
  /** Aborted (Ctrl-C): join stops between two objects and says what was applied. */
  readonly signal?: AbortSignal;
  /** Progress lines for the user. */
  readonly say?: (line: string) => void;
}

export interface JoinResult {
  readonly clusterId: string;
  readonly cluster: Cluster;
  readonly changed: readonly string[];
  readonly labelled?: string;
  readonly reused: boolean;
  /** With dryRun: the manifests that would be applied (credentials redacted). */
  readonly manifests?: string;
}

/** How long join keeps asking a broker that does not answer (a broker pod restarting, a NodePort being reprogrammed). */
const BROKER_ANSWER_MS = 15_000;

/** whoAmI, asked again while the broker is unavailable, for up to `ms`. */
async function whoAmIPatiently(conn: BrokerConnection, ms: number): Promise<void> {
  const end = Date.now() + ms;
  for (let wait = 250; ; wait = Math.min(wait * 2, 2000)) {
    try {
      await conn.whoAmI();
      return;
    } catch (err) {
      if (!(err instanceof UnavailableError) || Date.now() + wait > end) throw err;
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}

/** Connects to the broker with broker-info's admin credential (asking again for up to 15 s while it is unavailable); a clear error for another broker or none. */
export async function brokerAdmin(info: BrokerInfo, answerMs = BROKER_ANSWER_MS): Promise<BrokerConnection> {
  const conn = new BrokerConnection({ address: info.brokerURL, token: info.adminToken, ...(info.ca ? { ca: info.ca } : {}) });
  try {
    await whoAmIPatiently(conn, answerMs);
    return conn;
  } catch (err) {
    conn.close();
    if (err instanceof UnauthenticatedError) {
      throw new ValidationError(
        `the broker at ${info.brokerURL} does not accept the admin credential in broker-info: the file is for another broker, or the broker was redeployed; get a fresh broker-info from 'causeway deploy-broker'`,
      );
    }
    if (err instanceof UnavailableError)
      throw new UnavailableError(
        `cannot reach the broker at ${info.brokerURL} (from broker-info) within ${answerMs / 1000} s: ${err.message}; check that the broker runs (kubectl -n causeway-broker get pods) and that this machine reaches that address — deploy-broker's --broker-url or --service-type choose another`,
      );
    throw err;
  }
}

/** The broker credential this cluster already holds, when it is valid for `clusterId` at this broker. */
async function heldCredential(client: kube.KubeClient, info: BrokerInfo, clusterId: string): Promise<string | undefined> {
  let token = "";
  try {
    const s = await client.get<{ data?: Record<string, string> }>(kube.R.secret, SYSTEM_NAMESPACE, kube.BROKER_SECRET);
    token = Buffer.from(s.data?.token ?? "", "base64")
      .toString("utf8")
      .trim();
  } catch (err) {
    if (!(err instanceof kube.KubeNotFoundError)) throw err;
  }
  if (!token) return undefined;
  const conn = new BrokerConnection({ address: info.brokerURL, token, ...(info.ca ? { ca: info.ca } : {}) });
  try {
    const me = await conn.whoAmI();
    return me.clusterId === clusterId ? token : undefined;
  } catch {
    return undefined;
  } finally {
    conn.close();
  }
}

async function localCluster(client: kube.KubeClient, o: JoinOptions): Promise<Cluster> {
  const id = o.clusterId ?? client.clusterName;
  const idOk = ClusterIdSchema.safeParse(id);
  if (!idOk.success)
    throw new ValidationError(
      `cluster id "${id}" is not usable${o.clusterId ? "" : " (taken from the context's cluster name)"}; pass --clusterid`,
      formatIssues(idOk.error),
    );
  const cluster_cidr = o.clusterCidrs?.length ? [...o.clusterCidrs] : await discoverClusterCidrs(client);
  const service_cidr = o.serviceCidrs?.length ? [...o.serviceCidrs] : await discoverServiceCidrs(client);
  const clusterset_ip_cidr = o.clustersetIpCidr ? [o.clustersetIpCidr] : [];
  const global_cidr = o.globalnetCidr ? [o.globalnetCidr] : [];
  if (o.globalnetCidr && o.globalnet === false) throw new ValidationError("--globalnet-cidr and --globalnet=false contradict each other; drop one");
  const res = ClusterSchema.safeParse({ cluster_id: id, cluster_cidr, service_cidr, global_cidr, clusterset_ip_cidr });
  if (!res.success) throw new ValidationError("invalid cluster CIDRs", formatIssues(res.error));
  return res.data;
}

/** The cluster's record as the broker holds it (with what it placed: the clusterset IP block, the global CIDR). */
async function brokerRecord(conn: BrokerConnection, clusterId: string): Promise<Cluster | undefined> {
  const r = (await conn.list("cluster")).records.find((x) => x.clusterId === clusterId);
  return r ? ClusterSchema.safeParse(JSON.parse(r.valueJson)).data : undefined;
}

/** What the broker placed for `clusterId`: its clusterset IP block and (globalnet) its global CIDR, as lines for the user. */
function placedLines(clusterId: string, c: Cluster | undefined): string[] {
  const lines: string[] = [];
  if (c?.clusterset_ip_cidr?.length) lines.push(`clusterset IPs of ${clusterId}'s exports come from ${c.clusterset_ip_cidr.join(", ")}`);
  const g = c?.global_cidr[0];
  const a = g ? globalAddresses(g) : undefined;
  if (g && a) lines.push(`globalnet: ${clusterId} is known to the clusterset as ${g} (egress ${a.egressIPs[0]}-${a.egressIPs.at(-1)})`);
  return lines;
}

/**
 * Pure: why a re-run of join on a cluster that is already a member cannot do what its flags ask
 * (undefined: it can). The broker placed the member's global CIDR at its first join; a re-run
 * neither moves it nor takes the cluster out of globalnet — that is a leave and a new join.
 */
export function rejoinConflict(clusterId: string, placed: Cluster | undefined, o: Pick<JoinOptions, "globalnet" | "globalnetCidr">): string | undefined {
  const has = placed?.global_cidr[0];
  const redo = `uninstall Causeway from ${clusterId} (causeway uninstall) and join again`;
  if (has && o.globalnet === false)
    return `${clusterId} is already a member with the global CIDR ${has}: --globalnet=false cannot take it out of globalnet; ${redo}`;
  if (o.globalnetCidr && !has)
    return `${clusterId} is already a member without a global CIDR (the broker does not run globalnet): drop --globalnet-cidr ${o.globalnetCidr}`;
  if (o.globalnetCidr && has && o.globalnetCidr !== has)
    return `${clusterId} is already a member with the global CIDR ${has}: --globalnet-cidr ${o.globalnetCidr} cannot move it; drop the flag, or ${redo}`;
  return undefined;
}

/** The node to label as gateway when none is: undefined if one already is. */
async function gatewayCandidate(client: kube.KubeClient): Promise<{ labelled: boolean; first?: string }> {
  const nodes = await client.list<{ metadata: kube.ObjectMeta }>(kube.R.node);
  if (nodes.items.some((n) => n.metadata.labels?.[view.GATEWAY_NODE_LABEL] === "true")) return { labelled: true };
  return { labelled: false, first: nodes.items.map((n) => n.metadata.name).sort()[0] };
}

/** The cluster's CoreDNS forwards clusterset.local to the lighthouse DNS Service; says what was done, or what the operator must do. */
async function wireClusterDns(client: kube.KubeClient, say: (s: string) => void, custom?: string): Promise<void> {
  const dnsIp = await lighthouseDnsIp(client);
  const wiring = await wireCoreDns(client, dnsIp, CLUSTERSET_DNS_ZONES, custom);
  if (wiring.kind === "none") say(`no CoreDNS ConfigMap in kube-system: make your cluster DNS forward clusterset.local to ${dnsIp}, e.g.\n${wiring.stanza}`);
  else say(`CoreDNS (kube-system/${wiring.kind}) forwards clusterset.local to ${dnsIp}${wiring.changed ? "" : " (already)"}`);
}

/** Labels the first node as the gateway when none is and labelling is wanted; returns the node labelled, if any. */
async function labelGateway(
  client: kube.KubeClient,
  gw: { labelled: boolean; first?: string },
  wanted: boolean,
  say: (s: string) => void,
): Promise<string | undefined> {
  if (gw.labelled) return undefined;
  if (!wanted || !gw.first) {
    say(`no node is labelled ${view.GATEWAY_NODE_LABEL}=true: label one to run the gateway`);
    return undefined;
  }
  await client.apply(kube.R.node, { metadata: { name: gw.first, labels: { [view.GATEWAY_NODE_LABEL]: "true" } } }, { fieldManager: "causeway-cli" });
  say(`labelled node ${gw.first} ${view.GATEWAY_NODE_LABEL}=true (the gateway)`);
  return gw.first;
}

/** The cable driver and intra-cluster mode join was given (default vxlan); ValidationError naming the supported ones otherwise. */
function dataPath(o: JoinOptions): { cableDriver: CableDriverName; intraCluster: IntraClusterMode; gatewayMode: GatewayMode } {
  const cableDriver = parseCableDriver(o.cableDriver ?? "vxlan");
  const intraCluster = (o.intraCluster ?? "vxlan") as IntraClusterMode;
  if (!INTRA_CLUSTER_MODES.includes(intraCluster))
    throw new ValidationError(`unknown intra-cluster mode "${intraCluster}"; supported: ${INTRA_CLUSTER_MODES.join(", ")}`);
  const gatewayMode = (o.gatewayMode ?? "active-passive") as GatewayMode;
  if (!GATEWAY_MODES.includes(gatewayMode)) throw new ValidationError(`unknown gateway mode "${gatewayMode}"; supported: ${GATEWAY_MODES.join(", ")}`);
  return { cableDriver, intraCluster, gatewayMode };
}

/**
 * `causeway join`: registers the cluster at the broker and applies Causeway to it. Everything
 * that can fail is checked first (API reachable, broker credential, cluster id free, CIDRs,
 * permissions), so a refused join leaves nothing behind; re-running it changes nothing.
 */
export async function join(o: JoinOptions): Promise<JoinResult> {
  const say = o.say ?? (() => {});
  const { cableDriver, intraCluster, gatewayMode } = dataPath(o);
  const info = readBrokerInfo(o.brokerInfoFile);
  const client = await kube.KubeClient.connect({ kubeconfig: o.kubeconfig, context: o.context, timeoutMs: 5000 });
  try {
    await client.ping();
    const cluster = await localCluster(client, o);
    say(`cluster ${cluster.cluster_id}: pod CIDRs ${cluster.cluster_cidr.join(", ")}, service CIDRs ${cluster.service_cidr.join(", ")}`);
    const conn = await brokerAdmin(info);
    let result: JoinResult;
    try {
      const existing = (await conn.list("cluster")).records.some((r) => r.clusterId === cluster.cluster_id);
      const held = existing ? await heldCredential(client, info, cluster.cluster_id) : undefined;
      if (existing && !held) {
        throw new DuplicateClusterError(
          `cluster id "${cluster.cluster_id}" is already joined to the broker at ${info.brokerURL} by another cluster; pass another --clusterid, or uninstall Causeway from that cluster first`,
        );
      }
      const conflict = held ? rejoinConflict(cluster.cluster_id, await brokerRecord(conn, cluster.cluster_id), o) : undefined;
      if (conflict) throw new ValidationError(conflict);
      const config = (token: string, globalCIDRs: readonly string[] = []) => ({
        clusterId: cluster.cluster_id,
        clusterCIDRs: cluster.cluster_cidr,
        serviceCIDRs: cluster.service_cidr,
        ...(globalCIDRs.length ? { globalCIDRs } : {}),
        cableDriver,
        intraCluster,
        gatewayMode,
        brokerAddress: info.brokerURL,
        brokerToken: token,
        brokerCa: info.ca,
        cableSecret: info.cableSecret,
        gateway: o.gateway ?? {},
        images: o.images,
      });
      if (o.dryRun)
        return {
          clusterId: cluster.cluster_id,
          cluster,
          changed: [],
          reused: Boolean(held),
          manifests: renderManifests(memberManifests(kube.R, config("<issued by the broker at join>"))),
        };
      await preflight(client, memberManifests(kube.R, config("x")));
      // Before anything is registered or applied: MCS CRDs another installer owns may refuse the join.
      const mcs = await planMcsCrds(client, []);
      for (const n of mcs.notes) say(n);
      const gw = await gatewayCandidate(client);
      let token = held;
      if (!token) {
        token = (await conn.join(cluster, { globalnetDisabled: o.globalnet === false })).token;
        say(`registered ${cluster.cluster_id} at the broker ${info.brokerURL}`);
      }
      const placed = await brokerRecord(conn, cluster.cluster_id);
      for (const line of placedLines(cluster.cluster_id, placed)) say(line);
      try {
        // The global CIDR goes into the cluster's configuration: the gateway knows at once that the cluster runs globalnet.
        const ms = (await planMcsCrds(client, memberManifests(kube.R, config(token, placed?.global_cidr)))).manifests;
        const { changed } = await applyManifests(client, ms, { signal: o.signal });
        await waitCrdsEstablished(client, ms);
        const labelled = await labelGateway(client, gw, o.labelGateway !== false, say);
        await wireClusterDns(client, say, o.corednsCustomConfigMap);
        result = { clusterId: cluster.cluster_id, cluster, changed, labelled, reused: Boolean(held) };
      } catch (err) {
        // Nothing half-done at the broker: a cluster we registered in this run is removed again.
        if (!held) await conn.leave(cluster.cluster_id).catch(() => undefined);
        throw err;
      }
    } finally {
      conn.close();
    }
    // Outside the undo above: pods that cannot start leave the registration for a re-run.
    if (o.waitMs) {
      await waitRollout(
        client,
        SYSTEM_NAMESPACE,
        MEMBER_WORKLOADS.map((w) => w.name),
        o.waitMs,
      );
      say(`Causeway's pods are ready: ${MEMBER_WORKLOADS.map((w) => w.name).join(", ")}`);
    }
    return result;
  } finally {
    client.close();
  }
}
