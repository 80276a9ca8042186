import { readFileSync } from "node:fs";
import { type Command, InvalidArgumentError } from "commander";

/** subctl's boolean flags take `--flag`, `--flag=true` or `--flag=false`. */
export const bool = (v: string | undefined): boolean => {
  if (v === undefined || v === "true") return true;
  if (v === "false") return false;
  throw new InvalidArgumentError(`say true or false, got "${v}"`);
};
const positive = (what: string, min: number) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < min) throw new InvalidArgumentError(`${what} must be a number ≥ ${min}, got "${v}"`);
  return n;
};
const udpPort = (what: string) => (v: string) => {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1 || n > 65535) throw new InvalidArgumentError(`${what} must be a UDP port (1-65535), got "${v}"`);
  return n;
};

/** A repeatable option: each occurrence adds its value. */
const repeat = (v: string, previous: string[] | undefined): string[] => [...(previous ?? []), v];
const IMAGE_OVERRIDE_HELP =
  "run component (gateway, route-agent, lighthouse, broker) from image instead of the release's: component=image, or an image for all; repeatable";

const list = (v: string): string[] =>
  v
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean);
const say = (line: string) => console.log(` ✓ ${line}`);

interface JoinFlags {
  kubeconfig?: string;
  context?: string;
  clusterid?: string;
  clustercidr?: string[];
  servicecidr?: string[];
  clustersetIpCidr?: string;
  globalnetCidr?: string;
  globalnet: boolean;
  cableDriver: string;
  intraCluster: string;
  gatewayMode: string;
  labelGateway: boolean;
  natt?: boolean;
  airGapped?: boolean;
  nattport?: number;
  preferredServer?: boolean;
  healthCheck?: boolean;
  healthCheckInterval?: number;
  healthCheckMaxPacketLossCount?: number;
  corednsCustomConfigmap?: string;
  imageOverride?: string[];
  wait: number;
  dryRun?: boolean;
}

interface DeployBrokerFlags {
  imageOverride?: string[];
  kubeconfig?: string;
  context?: string;
  brokerUrl?: string;
  serviceType: string;
  out: string;
  dryRun?: boolean;
  tls: boolean;
  backend: string;
  natsServers?: string[];
  natsStreamReplicas: number;
  replicas: number;
  natsUser?: string;
  natsPasswordFile?: string;
  natsCa?: string;
  globalnet: boolean;
  globalnetCidrRange?: string;
  defaultGlobalnetClusterSize?: number;
  wait: number;
}

/** The NATS settings of deploy-broker's flags; refuses half-given ones. */
function natsDeployment(o: DeployBrokerFlags) {
  if (o.backend === "sqlite") {
    if (o.natsServers) throw new InvalidArgumentError("--nats-servers needs --backend nats");
    return {};
  }
  if (o.backend !== "nats") throw new InvalidArgumentError(`--backend is sqlite or nats, got "${o.backend}"`);
  if (!o.natsServers?.length) throw new InvalidArgumentError("--backend nats needs --nats-servers nats://host:port,…");
  const streamReplicas = ([1, 3, 5] as const).find((n) => n === o.natsStreamReplicas);
  if (streamReplicas === undefined) throw new InvalidArgumentError("--nats-stream-replicas is 1, 3 or 5");
  if (Boolean(o.natsUser) !== Boolean(o.natsPasswordFile)) throw new InvalidArgumentError("--nats-user and --nats-password-file go together");
  const password = o.natsPasswordFile ? readFileSync(o.natsPasswordFile, "utf8").trim() : undefined;
  return {
    nats: {
      servers: o.natsServers,
      streamReplicas,
      replicas: o.replicas,
      ...(o.natsUser ? { user: o.natsUser } : {}),
      ...(password ? { password } : {}),
      ...(o.natsCa ? { ca: readFileSync(o.natsCa, "utf8") } : {}),
    },
  };
}

/** `deploy-broker` and `join`: install Causeway on clusters through their API servers (server-side apply). */
export function kubeCommands(program: Command): void {
  program
    .command("deploy-broker")
    .description("deploy the broker to a cluster and write broker-info for 'causeway join'")
    .option("--kubeconfig <file>", "kubeconfig (default: $KUBECONFIG, ~/.kube/config)")
    .option("--context <name>", "kubeconfig context")
    .option(
      "--broker-url <host[:port]>",
      "the address members and this machine dial; a host alone takes the Service's port (default: a node's ExternalIP, else InternalIP, with the NodePort)",
    )
    .option(
      "--service-type <type>",
      "the broker Service's type: NodePort (reachable from other clusters), LoadBalancer or ClusterIP (this cluster only)",
      "NodePort",
    )
    .option("-o, --out <file>", "where broker-info is written", "broker-info.subm")
    .option("--no-tls", "serve plaintext (only where the network itself is trusted or encrypted); default: TLS with a CA made here, carried in broker-info")
    .option("--backend <backend>", "the broker's store: sqlite (one broker, a volume) or nats (several brokers on a NATS JetStream bucket)", "sqlite")
    .option("--nats-servers <urls>", "with --backend nats: nats://host:port,… of the NATS cluster", list)
    .option("--nats-stream-replicas <n>", "with --backend nats: copies of the bucket (3 in HA)", positive("--nats-stream-replicas", 1), 3)
    .option("--replicas <n>", "with --backend nats: broker replicas", positive("--replicas", 1), 3)
    .option("--nats-user <user>", "with --backend nats: the NATS user")
    .option("--nats-password-file <file>", "with --backend nats: a file holding the NATS password (stored in a Secret)")
    .option("--nats-ca <file>", "with --backend nats: the CA of the NATS servers' certificates (TLS; stored in a Secret)")
    .option(
      "--globalnet [bool]",
      "members whose pod and service CIDRs overlap (e.g. kind's defaults) meet through global CIDRs the broker gives each of them",
      bool,
      false,
    )
    .option("--globalnet-cidr-range <cidr>", "with --globalnet: where members' global CIDRs come from (default 242.0.0.0/8)")
    .option(
      "--default-globalnet-cluster-size <n>",
      "with --globalnet: global addresses per member, rounded up to a power of two (default 65536, a /16)",
      positive("--default-globalnet-cluster-size", 1),
    )
    .option("--image-override <component=image>", IMAGE_OVERRIDE_HELP, repeat)
    .option("--wait <seconds>", "wait this long for the broker's pods, then check it answers at its address from here (0: neither)", positive("--wait", 0), 300)
    .option("--dry-run", "print what would be applied; change nothing")
    .addHelpText(
      "after",
      "\nExamples:\n  causeway deploy-broker --kubeconfig broker.kubeconfig --broker-url 203.0.113.10:7400\n  causeway deploy-broker --backend nats --nats-servers nats://nats-0.nats:4222,nats://nats-1.nats:4222,nats://nats-2.nats:4222 --nats-user causeway --nats-password-file nats.pw",
    )
    .action(async (o: DeployBrokerFlags) => {
      const { BROKER_SERVICE_TYPES, deployBroker, parseImageOverrides, parseServiceType } = await import("@causeway/deploy");
      const { globalnetSettings } = await import("@causeway/api");
      const globalnet = globalnetSettings({
        enabled: o.globalnet,
        ...(o.globalnetCidrRange !== undefined ? { cidrRange: o.globalnetCidrRange } : {}),
        ...(o.defaultGlobalnetClusterSize !== undefined ? { clusterSize: o.defaultGlobalnetClusterSize } : {}),
      });
      const r = await deployBroker({
        globalnet,
        serviceType: parseServiceType(o.serviceType, BROKER_SERVICE_TYPES),
        ...(o.imageOverride ? { images: parseImageOverrides(o.imageOverride) } : {}),
        kubeconfig: o.kubeconfig,
        context: o.context,
        brokerUrl: o.brokerUrl,
        out: o.out,
        dryRun: o.dryRun,
        tls: o.tls,
        waitMs: o.wait * 1000,
        ...natsDeployment(o),
        say,
      });
      if (r.manifests) {
        console.log(r.manifests.trimEnd());
        return;
      }
      say(r.changed.length ? `applied ${r.changed.length} object(s): ${r.changed.join(", ")}` : "the broker is deployed already; nothing changed");
      if (r.backup) say(`kept the previous broker-info as ${r.backup}`);
      if (globalnet.enabled) say(`globalnet: members get /${32 - Math.log2(globalnet.clusterSize)} global CIDRs from ${globalnet.cidrRange}`);
      say(`wrote ${o.out} (broker ${r.info.brokerURL}); join clusters with: causeway join ${o.out} --kubeconfig … --context …`);
    });
  program
    .command("join <broker-info>")
    .description("join a cluster to the clusterset of a broker")
    .option("--kubeconfig <file>", "kubeconfig (default: $KUBECONFIG, ~/.kube/config)")
    .option("--context <name>", "kubeconfig context")
    .option("--clusterid <id>", "cluster id (default: the context's cluster name)")
    .option("--clustercidr <cidrs>", "pod CIDRs, comma-separated (default: discovered)", list)
    .option("--servicecidr <cidrs>", "service CIDRs, comma-separated (default: discovered)", list)
    .option(
      "--clusterset-ip-cidr <cidr>",
      "where this cluster allocates clusterset IPs (ServiceImport spec.ips) from; must overlap no member's pod, service or clusterset IP CIDR (default: the broker gives the next free /20 of 243.0.0.0/8)",
    )
    .option(
      "--globalnet-cidr <cidr>",
      "with a globalnet broker: this cluster's global CIDR (at least a /28, overlapping no member's CIDR; default: the broker gives the next free block of its range)",
    )
    .option("--globalnet [bool]", "take part in the broker's globalnet (--globalnet=false is refused by a globalnet broker)", bool, true)
    .option("--cable-driver <driver>", "cable driver", "vxlan")
    .option("--intra-cluster <mode>", "vxlan | direct", "vxlan")
    .option(
      "--gateway-mode <mode>",
      "active-passive: one elected gateway carries the cluster's cross-cluster traffic; active-active: every gateway node (labelled causeway.io/gateway=true) carries a share",
      "active-passive",
    )
    .option("--label-gateway [bool]", "label a gateway node when none is labelled (--label-gateway=false, or --no-label-gateway: don't)", bool, true)
    .option("--no-label-gateway", "do not label a gateway node when none is labelled")
    .option("--natt [bool]", "NAT traversal: cables use the public IPs where clusters are behind NAT (--natt=false: private IPs)", bool)
    .option("--nattport <port>", "UDP port of the cables (default 4500): the gateway listens on it and remote gateways send to it", udpPort("--nattport"))
    .option(
      "--preferred-server [bool]",
      "remote gateways dial this cluster's gateway and it never dials them (WireGuard; e.g. the other clusters are behind NAT or a firewall that allows only outbound)",
      bool,
    )
    .option("--air-gapped [bool]", "no public IP discovery: the gateway uses its private IP", bool)
    .option("--health-check [bool]", "probe connected clusters' gateways (--health-check=false: off)", bool)
    .option("--health-check-interval <seconds>", "seconds between health probes (≥ 0.1)", positive("--health-check-interval", 0.1))
    .option(
      "--health-check-max-packet-loss-count <n>",
      "lost probes in a row that mark a connection in error (≥ 1)",
      positive("--health-check-max-packet-loss-count", 1),
    )
    .option(
      "--coredns-custom-configmap <namespace/name>",
      "put the clusterset DNS block into this ConfigMap (CoreDNS imports its *.server keys) instead of kube-system/coredns",
    )
    .option("--image-override <component=image>", IMAGE_OVERRIDE_HELP, repeat)
    .option(
      "--wait <seconds>",
      "wait this long for Causeway's pods to be ready (0: do not wait); pods whose image the nodes cannot get fail at once",
      positive("--wait", 0),
      300,
    )
    .option("--dry-run", "print what would be applied; change nothing")
    .addHelpText(
      "after",
      "\nExamples:\n  causeway join broker-info.subm --kubeconfig ~/.kube/config --context east --clusterid east\n  causeway join --kubeconfig k.yaml broker-info.subm --clusterid ks1 --natt=false --cable-driver vxlan --health-check=false",
    )
    .action(async (file: string, o: JoinFlags) => {
      const { join, parseImageOverrides } = await import("@causeway/deploy");
      // Ctrl-C: finish the object being applied, then stop and say what was applied (re-running completes it).
      const interrupt = new AbortController();
      const onInt = () => {
        if (interrupt.signal.aborted) process.exit(130);
        console.log(" ✗ interrupted: stopping after the object being applied (Ctrl-C again to quit at once)");
        interrupt.abort();
      };
      process.on("SIGINT", onInt);
      const r = await join({
        signal: interrupt.signal,
        brokerInfoFile: file,
        kubeconfig: o.kubeconfig,
        context: o.context,
        clusterId: o.clusterid,
        clusterCidrs: o.clustercidr,
        serviceCidrs: o.servicecidr,
        ...(o.clustersetIpCidr ? { clustersetIpCidr: o.clustersetIpCidr } : {}),
        ...(o.globalnetCidr ? { globalnetCidr: o.globalnetCidr } : {}),
        globalnet: o.globalnet,
        cableDriver: o.cableDriver,
        intraCluster: o.intraCluster,
        gatewayMode: o.gatewayMode,
        labelGateway: o.labelGateway,
        gateway: {
          ...(o.natt !== undefined ? { natt: o.natt } : {}),
          ...(o.airGapped !== undefined ? { airGapped: o.airGapped } : {}),
          ...(o.nattport !== undefined ? { nattPort: o.nattport } : {}),
          ...(o.preferredServer !== undefined ? { preferredServer: o.preferredServer } : {}),
          ...(o.healthCheck !== undefined ? { healthCheck: o.healthCheck } : {}),
          ...(o.healthCheckInterval !== undefined ? { healthCheckInterval: o.healthCheckInterval } : {}),
          ...(o.healthCheckMaxPacketLossCount !== undefined ? { healthCheckMaxPacketLossCount: o.healthCheckMaxPacketLossCount } : {}),
        },
        ...(o.corednsCustomConfigmap ? { corednsCustomConfigMap: o.corednsCustomConfigmap } : {}),
        ...(o.imageOverride ? { images: parseImageOverrides(o.imageOverride) } : {}),
        dryRun: o.dryRun,
        waitMs: o.wait * 1000,
        say,
      }).finally(() => process.off("SIGINT", onInt));
      if (r.manifests) {
        console.log(r.manifests.trimEnd());
        return;
      }
      say(r.changed.length ? `applied ${r.changed.length} object(s)` : "already joined with this configuration; nothing changed");
      say(`cluster ${r.clusterId} ${r.reused ? "was already a member" : "joined the clusterset"}`);
    });
  program
    .command("uninstall")
    .description("remove Causeway from a cluster: workloads and their node state, broker membership, CoreDNS block, objects, CRDs")
    .option("--kubeconfig <file>", "kubeconfig (default: $KUBECONFIG, ~/.kube/config)")
    .option("--context <name>", "kubeconfig context")
    .option("-y, --yes", "do not ask for confirmation")
    .addHelpText("after", "\nExamples:\n  causeway uninstall --kubeconfig k.yaml --context east --yes")
    .action(async (o: { kubeconfig?: string; context?: string; yes?: boolean }) => {
      if (!o.yes) {
        if (!process.stdin.isTTY) throw new InvalidArgumentError("uninstall removes Causeway from the cluster: pass --yes to confirm");
        const { createInterface } = await import("node:readline/promises");
        const rl = createInterface({ input: process.stdin, output: process.stdout });
        const answer = await rl.question(`Remove Causeway from ${o.context ?? "the current context"}? [y/N] `);
        rl.close();
        if (!/^y(es)?$/i.test(answer.trim())) {
          console.log(" ✗ nothing removed");
          return;
        }
      }
      const { uninstall } = await import("@causeway/deploy");
      const r = await uninstall({ kubeconfig: o.kubeconfig, context: o.context, say });
      say(
        r.found
          ? `Causeway is removed from ${r.clusterId ? `cluster ${r.clusterId}` : "this cluster"}`
          : "Causeway is not installed on this cluster; nothing to remove",
      );
    });
}
