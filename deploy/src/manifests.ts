import {
  CAUSEWAY_VERSION,
  type ClusterConfig,
  CAUSEWAY_CRDS,
  crdObject,
  encodeClusterConfig,
  type GatewaySettings,
  type GlobalnetSettings,
  GROUP,
  MCS_CRDS,
  SYSTEM_NAMESPACE,
  ValidationError,
} from "@causeway/api";
import { createHash } from "node:crypto";
import { bundlePath } from "./image/contents.ts";
import { daemonPodParts, WG_KEY_FILE, WG_KEEPER_SOCKET } from "./daemonpod.ts";
import { kube, METRICS_PORTS, view } from "@causeway/common";

/** An object to apply, with its resource type. */
export interface Manifest {
  readonly type: kube.ResourceType;
  readonly object: kube.KubeObject & Record<string, unknown>;
}

export const BROKER_NAMESPACE = "causeway-broker";
export const BROKER_ADMIN_SECRET = "causeway-broker-admin";
export const BROKER_PORT = 7400;
/** The broker's SQLite volume. */
export const BROKER_DATA_CLAIM = "causeway-broker-data";
export const IMAGE = `causeway:${CAUSEWAY_VERSION}`;
const PART_OF = { "app.kubernetes.io/part-of": "causeway" };

const m = (type: kube.ResourceType, object: Manifest["object"]): Manifest => ({ type, object });
const meta = (name: string, namespace?: string, labels: Record<string, string> = {}) => ({
  name,
  ...(namespace ? { namespace } : {}),
  labels: { ...PART_OF, ...labels },
});

/** What join renders for a member: its cluster configuration (the contract's), credentials, gateway settings and images. */
export interface MemberConfig extends Pick<
  ClusterConfig,
  "clusterId" | "clusterCIDRs" | "serviceCIDRs" | "globalCIDRs" | "cableDriver" | "intraCluster" | "brokerAddress" | "gatewayMode"
> {
  readonly brokerToken: string;
  readonly brokerCa: string;
  readonly cableSecret: string;
  /** Gateway settings join was given (`--natt …`), written to causeway-config by the contract's encoding; absent ones: the gateway's defaults. */
  readonly gateway?: Partial<GatewaySettings>;
  /** Images instead of the release's (`join --image-override`). */
  readonly images?: ImageOverrides;
}

/** The CRDs of a member cluster: ours and the MCS API's. */
export function crdManifests(R: typeof kube.R): Manifest[] {
  return [...CAUSEWAY_CRDS, ...MCS_CRDS].map((d) => m(R.crd, crdObject(d) as Manifest["object"]));
}

/** Pod-template annotation: a digest of the configuration, so a changed join (e.g. --cable-driver) rolls the pods. */
export const CONFIG_HASH_ANNOTATION = "causeway.io/config-hash";

/** The metrics port and the probes every component serves on it (/healthz: the process runs; /readyz: it has done its job once). */
function probed(port: number) {
  return {
    ports: [{ name: "metrics", containerPort: port }],
    livenessProbe: { httpGet: { path: "/healthz", port }, periodSeconds: 10, failureThreshold: 3 },
    readinessProbe: { httpGet: { path: "/readyz", port }, periodSeconds: 5 },
  };
}

/**
 * Pure: the digest of a member's configuration that rolls its pods when it changes: sha256 of its
 * JSON with sorted keys (what Helm's toJson of the same map gives, so the chart computes the same).
 */
export function configDigest(data: Readonly<Record<string, string>>): string {
  const sorted = Object.fromEntries(Object.entries(data).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return createHash("sha256").update(JSON.stringify(sorted)).digest("hex").slice(0, 16);
}

/** The lighthouse's DNS Service in each member cluster: where the cluster's CoreDNS forwards clusterset.local. */
export const LIGHTHOUSE_DNS_SERVICE = "causeway-lighthouse-dns";

/** A headless Service selecting a component's pods on their metrics port, for Prometheus to discover. */
function metricsService(R: typeof kube.R, name: string, ns: string, port: number): Manifest {
  return m(R.service, {
    metadata: meta(`${name}-metrics`, ns, { "app.kubernetes.io/component": "metrics" }),
    spec: { clusterIP: "None", selector: { "app.kubernetes.io/name": name }, ports: [{ name: "metrics", port, targetPort: port }] },
  });
}

/** UDP ports the gateway's node must receive: the cable and NAT discovery (declared as host ports so schedulers and policies see them). */
const gatewayPorts = (cable = 4500) => [
  { name: "cable", containerPort: cable, hostPort: cable, protocol: "UDP" },
  { name: "natt-discovery", containerPort: 4490, hostPort: 4490, protocol: "UDP" },
];

/** The components whose image `--image-override component=image` can replace. */
export const IMAGE_COMPONENTS = ["gateway", "route-agent", "lighthouse", "broker"] as const;
export type ImageComponent = (typeof IMAGE_COMPONENTS)[number];
/** Images instead of the release's (subctl's --image-override): per component, or `all` for every component not named. */
export type ImageOverrides = Partial<Record<ImageComponent | "all", string>>;

/**
 * Pure: --image-override values (repeatable) as overrides: `component=image` for one component,
 * a bare image for all. ValidationError naming the value and the components otherwise.
 */
export function parseImageOverrides(values: readonly string[]): ImageOverrides {
  const out: Record<string, string> = {};
  for (const v of values) {
    const eq = v.indexOf("=");
    const [component, image] = eq < 0 ? ["all", v] : [v.slice(0, eq), v.slice(eq + 1)];
    if (component !== "all" && !(IMAGE_COMPONENTS as readonly string[]).includes(component))
      throw new ValidationError(
        `--image-override ${v}: unknown component "${component}"; components: ${IMAGE_COMPONENTS.join(", ")} (or an image alone for all)`,
      );
    if (!/^[^\s=]+$/.test(image)) throw new ValidationError(`--image-override ${v}: "${image}" is not an image reference`);
    out[component] = image;
  }
  return out;
}

/** The image a component runs with these overrides (undefined: the release's). */
const imageOf = (o: ImageOverrides | undefined, c: ImageComponent): string | undefined => o?.[c] ?? o?.all;

/** Pure: a workload running `image` instead of the default (--image-override). */
function withImage(w: Manifest, image: string | undefined): Manifest {
  if (!image) return w;
  return {
    ...w,
    object: JSON.parse(JSON.stringify(w.object).replaceAll(`"image":${JSON.stringify(IMAGE)}`, `"image":${JSON.stringify(image)}`)) as Manifest["object"],
  };
}

/**
 * How a component runs: a DaemonSet on every (selected) node, host network, with the
 * capabilities that change a node's network state (DAEMON_CAPABILITIES, not privileged) and the
 * node's /proc/sys/net, the xtables lock and (WireGuard) /dev/net/tun mounted; or a spread
 * Deployment on the pod network.
 */
type Placement =
  | {
      readonly kind: "daemonset";
      readonly nodeSelector?: Record<string, string>;
      readonly extraPorts?: readonly Record<string, unknown>[];
      /** wireguard-go's TUN device (the WireGuard cable driver). */
      readonly tun?: boolean;
    }
  | { readonly kind: "deployment"; readonly replicas: number; readonly capabilities: readonly string[] };

/** The member cluster's workloads and how each runs (uninstall deletes them; diagnose checks them). */
export const MEMBER_WORKLOADS = [
  { name: "causeway-gateway", kind: "DaemonSet" },
  { name: "causeway-route-agent", kind: "DaemonSet" },
  { name: "causeway-lighthouse", kind: "Deployment" },
] as const;

/**
 * Node's flags per DaemonSet (a pod on every node, so every MiB counts once per node):
 * - both: V8's young generation kept small (1 MiB semi-spaces instead of up to 16), fewer pages
 *   touched between scavenges;
 * - the route agent also runs V8's lite mode: the interpreter only (no optimizing compiler, so
 *   neither its code nor its memory), feedback allocated lazily. The route agent computes small
 *   plans a few times a minute and leaves packets to the kernel; it uses no WebAssembly (lite
 *   mode has none: no `fetch`). The gateway keeps the compilers: it fetches its public IP.
 * bench/kube-nodes.ts measures the pods' memory.
 */
export const DAEMON_NODE_FLAGS: Readonly<Record<"gateway" | "route-agent", readonly string[]>> = {
  gateway: ["--max-semi-space-size=1"],
  "route-agent": ["--max-semi-space-size=1", "--lite-mode"],
};

/**
 * What the DaemonSets' containers may do: links, routes, rules, iptables/nftables, ipsets,
 * conntrack, net sysctls and TUN devices (NET_ADMIN); raw sockets for ping health checks and
 * iptables' raw matches (NET_RAW). Nothing else: every other capability dropped.
 */
export const DAEMON_CAPABILITIES = ["NET_ADMIN", "NET_RAW"] as const;

/** The lighthouse's replicas: DNS keeps answering while one is rescheduled; one writes at a time (a Lease). */
export const LIGHTHOUSE_REPLICAS = 2;

/** A component container's environment: its node (and pod, for a Deployment), and the gateway's kept WireGuard key. */
function workloadEnv(daemon: boolean, tun: boolean): Record<string, unknown>[] {
  return [
    { name: "NODE_NAME", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
    ...(daemon ? [] : [{ name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } }]),
    ...(tun
      ? [
          { name: "CAUSEWAY_WG_KEY_FILE", value: WG_KEY_FILE },
          { name: "CAUSEWAY_WIREGUARD_KEEPER", value: WG_KEEPER_SOCKET },
        ]
      : []),
  ];
}

function workload(
  R: typeof kube.R,
  name: string,
  component: "gateway" | "route-agent" | "lighthouse",
  configHash: string,
  metricsPort: number,
  placement: Placement,
): Manifest {
  const probes = probed(metricsPort);
  const labels = { "app.kubernetes.io/name": name };
  const daemon = placement.kind === "daemonset";
  const env = workloadEnv(daemon, daemon && placement.tun === true);
  const securityContext = {
    allowPrivilegeEscalation: false,
    capabilities: { drop: ["ALL"], add: daemon ? [...DAEMON_CAPABILITIES] : [...placement.capabilities] },
  };
  const parts = daemon
    ? daemonPodParts(placement.tun === true, { image: IMAGE, nodeFlags: DAEMON_NODE_FLAGS.gateway })
    : { sidecars: {}, pod: {}, container: {} };
  const podSpec = {
    serviceAccountName: name,
    ...(daemon ? { hostNetwork: true } : {}),
    ...(daemon && placement.nodeSelector ? { nodeSelector: placement.nodeSelector } : {}),
    // Replicas on different nodes where there are several (a node's loss takes one replica, not all).
    ...(daemon
      ? {}
      : {
          topologySpreadConstraints: [
            { maxSkew: 1, topologyKey: "kubernetes.io/hostname", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: { ...labels } } },
          ],
        }),
    ...parts.sidecars,
    containers: [
      {
        name: component,
        image: IMAGE,
        command: ["node", ...(component === "lighthouse" ? [] : DAEMON_NODE_FLAGS[component]), bundlePath(component), "--kube"],
        env,
        // A component that cannot start says why in its last log line: that becomes the termination message (diagnose shows it).
        terminationMessagePolicy: "FallbackToLogsOnError",
        securityContext,
        ...probes,
        ports: [...probes.ports, ...(daemon ? (placement.extraPorts ?? []) : [])],
        ...parts.container,
      },
    ],
    ...parts.pod,
  };
  const template = { metadata: { labels: { ...PART_OF, ...labels }, annotations: { [CONFIG_HASH_ANNOTATION]: configHash } }, spec: podSpec };
  const selector = { matchLabels: labels };
  return m(daemon ? R.daemonSet : R.deployment, {
    metadata: meta(name, SYSTEM_NAMESPACE, labels),
    spec: daemon ? { selector, template } : { replicas: placement.replicas, selector, template },
  });
}

/** Everything `join` applies to a member cluster, in apply order. */
export function memberManifests(R: typeof kube.R, c: MemberConfig): Manifest[] {
  const ns = SYSTEM_NAMESPACE;
  const gw = "causeway-gateway";
  const ra = "causeway-route-agent";
  const lh = "causeway-lighthouse";
  // Components check at start that the installed CRDs match their build (a clear error instead of odd failures).
  const crdNames = CAUSEWAY_CRDS.map((d) => `${d.plural}.${d.group}`);
  const configData = encodeClusterConfig({
    clusterId: c.clusterId,
    clusterCIDRs: c.clusterCIDRs,
    serviceCIDRs: c.serviceCIDRs,
    ...(c.globalCIDRs?.length ? { globalCIDRs: c.globalCIDRs } : {}),
    cableDriver: c.cableDriver,
    intraCluster: c.intraCluster,
    brokerAddress: c.brokerAddress,
    ...(c.gatewayMode && c.gatewayMode !== "active-passive" ? { gatewayMode: c.gatewayMode } : {}),
    ...c.gateway,
  });
  const configHash = configDigest(configData);
  const nodesRead = [
    { apiGroups: [""], resources: ["nodes"], verbs: ["get", "list", "watch"] },
    { apiGroups: ["apiextensions.k8s.io"], resources: ["customresourcedefinitions"], resourceNames: crdNames, verbs: ["get"] },
  ];
  return [
    m(R.namespace, { metadata: meta(ns) }),
    ...crdManifests(R),
    m(R.serviceAccount, { metadata: meta(gw, ns) }),
    m(R.serviceAccount, { metadata: meta(ra, ns) }),
    m(R.serviceAccount, { metadata: meta(lh, ns) }),
    m(R.clusterRole, {
      metadata: meta(gw),
      rules: [
        ...nodesRead,
        // Globalnet: namespaces' own egress pools (GlobalEgressIP, allocated and reported by the active gateway) and the pods they select.
        ...(c.globalCIDRs?.length
          ? [
              { apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"] },
              { apiGroups: [GROUP], resources: ["globalegressips"], verbs: ["get", "list", "watch"] },
              { apiGroups: [GROUP], resources: ["globalegressips/status"], verbs: ["get", "update", "patch"] },
            ]
          : []),
      ],
    }),
    m(R.clusterRole, {
      metadata: meta(ra),
      rules: [
        ...nodesRead,
        // Clusterset IPs: Causeway's ServiceImports and MCS EndpointSlices, read only.
        { apiGroups: ["multicluster.x-k8s.io"], resources: ["serviceimports"], verbs: ["get", "list", "watch"] },
        { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["get", "list", "watch"] },
      ],
    }),
    m(R.clusterRole, {
      metadata: meta(lh),
      rules: [
        ...nodesRead,
        { apiGroups: [""], resources: ["services", "namespaces"], verbs: ["get", "list", "watch"] },
        { apiGroups: ["multicluster.x-k8s.io"], resources: ["serviceexports"], verbs: ["get", "list", "watch"] },
        { apiGroups: ["multicluster.x-k8s.io"], resources: ["serviceexports/status"], verbs: ["get", "update", "patch"] },
        {
          apiGroups: ["multicluster.x-k8s.io"],
          resources: ["serviceimports", "serviceimports/status"],
          verbs: ["get", "list", "watch", "create", "update", "patch", "delete"],
        },
        { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["get", "list", "watch", "create", "update", "patch", "delete"] },
        // A Warning Event on a ServiceImport that is not Causeway's (left alone: lighthouse/src/kube/foreign.ts).
        { apiGroups: [""], resources: ["events"], verbs: ["create"] },
      ],
    }),
    m(R.role, {
      metadata: meta(gw, ns),
      rules: [
        {
          apiGroups: [GROUP],
          resources: ["endpoints", "clusters", "gateways", "gateways/status"],
          verbs: ["get", "list", "watch", "create", "update", "patch", "delete"],
        },
        // list: an active-active gateway reads its cluster's slot Leases in one call per round.
        { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["get", "list", "create", "update"] },
        { apiGroups: [""], resources: ["configmaps"], resourceNames: ["causeway-config"], verbs: ["get"] },
        { apiGroups: [""], resources: ["secrets"], resourceNames: ["causeway-broker-credentials"], verbs: ["get"] },
      ],
    }),
    m(R.role, {
      metadata: meta(lh, ns),
      rules: [
        { apiGroups: [GROUP], resources: ["gateways"], verbs: ["get", "list", "watch"] },
        { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["get", "create", "update"] },
        { apiGroups: [""], resources: ["configmaps"], resourceNames: ["causeway-config"], verbs: ["get"] },
        { apiGroups: [""], resources: ["secrets"], resourceNames: ["causeway-broker-credentials"], verbs: ["get"] },
      ],
    }),
    m(R.role, {
      metadata: meta(ra, ns),
      rules: [
        { apiGroups: [GROUP], resources: ["endpoints", "gateways", "clusters"], verbs: ["get", "list", "watch"] },
        { apiGroups: [""], resources: ["configmaps"], resourceNames: ["causeway-config"], verbs: ["get"] },
      ],
    }),
    ...[gw, ra, lh].flatMap((n) => [
      m(R.clusterRoleBinding, {
        metadata: meta(n),
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: n },
        subjects: [{ kind: "ServiceAccount", name: n, namespace: ns }],
      }),
      m(R.roleBinding, {
        metadata: meta(n, ns),
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: n },
        subjects: [{ kind: "ServiceAccount", name: n, namespace: ns }],
      }),
    ]),
    m(R.configMap, { metadata: meta("causeway-config", ns), data: configData }),
    m(R.secret, {
      metadata: meta("causeway-broker-credentials", ns),
      type: "Opaque",
      data: {
        token: Buffer.from(c.brokerToken).toString("base64"),
        ...(c.brokerCa ? { "ca.crt": Buffer.from(c.brokerCa).toString("base64") } : {}),
        ...(c.cableSecret ? { [kube.CABLE_SECRET_KEY]: Buffer.from(c.cableSecret).toString("base64") } : {}),
      },
    }),
    withImage(
      workload(R, gw, "gateway", configHash, METRICS_PORTS.gateway, {
        kind: "daemonset",
        nodeSelector: { [view.GATEWAY_NODE_LABEL]: "true" },
        extraPorts: gatewayPorts(c.gateway?.nattPort),
        tun: c.cableDriver === "wireguard",
      }),
      imageOf(c.images, "gateway"),
    ),
    withImage(workload(R, ra, "route-agent", configHash, METRICS_PORTS.routeAgent, { kind: "daemonset" }), imageOf(c.images, "route-agent")),
    metricsService(R, gw, ns, METRICS_PORTS.gateway),
    metricsService(R, ra, ns, METRICS_PORTS.routeAgent),
    metricsService(R, lh, ns, METRICS_PORTS.lighthouse),
    // The clusterset DNS server and export agent: spread replicas on the pod network (one writes through a Lease; all answer DNS).
    withImage(
      workload(R, lh, "lighthouse", configHash, METRICS_PORTS.lighthouse, {
        kind: "deployment",
        replicas: LIGHTHOUSE_REPLICAS,
        capabilities: ["NET_BIND_SERVICE"],
      }),
      imageOf(c.images, "lighthouse"),
    ),
    m(R.service, {
      metadata: meta(LIGHTHOUSE_DNS_SERVICE, ns),
      spec: {
        selector: { "app.kubernetes.io/name": lh },
        ports: [
          { name: "dns-udp", protocol: "UDP", port: 53, targetPort: 53 },
          { name: "dns-tcp", protocol: "TCP", port: 53, targetPort: 53 },
        ],
      },
    }),
  ];
}

/** How the broker is deployed: its TLS material (absent: plaintext) and its store (absent: SQLite on a volume). */
export interface BrokerDeployment {
  /** Images instead of the release's (`deploy-broker --image-override`): `broker` or `all` apply. */
  readonly images?: ImageOverrides;
  readonly tls?: { readonly certPem: string; readonly keyPem: string; readonly caPem: string };
  /** How the broker's Service is reached (default NodePort: from other clusters and the operator's machine). */
  readonly serviceType?: BrokerServiceType;
  /** `deploy-broker --globalnet …` (absent or disabled: members need disjoint CIDRs). */
  readonly globalnet?: GlobalnetSettings;
  /** NATS JetStream: several broker replicas on one bucket, no volume. */
  readonly nats?: {
    readonly servers: readonly string[];
    readonly streamReplicas: 1 | 3 | 5;
    readonly replicas: number;
    readonly user?: string;
    readonly password?: string;
    /** PEM of the CA that signed the NATS servers' certificates (TLS to NATS). */
    readonly ca?: string;
  };
}

/** The broker Service's types deploy-broker offers (--service-type). */
export const BROKER_SERVICE_TYPES = ["NodePort", "LoadBalancer", "ClusterIP"] as const;
export type BrokerServiceType = (typeof BROKER_SERVICE_TYPES)[number];

export const BROKER_TLS_SECRET = "causeway-broker-tls";
export const BROKER_NATS_SECRET = "causeway-broker-nats";

/** The broker container's arguments, mounts and volumes for a deployment. */
function brokerContainer(d: BrokerDeployment) {
  const args = ["--listen", `0.0.0.0:${BROKER_PORT}`, "--admin-token-file", "/etc/causeway/admin/token"];
  const mounts: Record<string, unknown>[] = [{ name: "admin", mountPath: "/etc/causeway/admin", readOnly: true }];
  const volumes: Record<string, unknown>[] = [{ name: "admin", secret: { secretName: BROKER_ADMIN_SECRET } }];
  if (d.globalnet?.enabled) {
    args.push("--globalnet", "--globalnet-cidr-range", d.globalnet.cidrRange, "--default-globalnet-cluster-size", String(d.globalnet.clusterSize));
  }
  if (d.nats) {
    args.push("--backend", "nats", "--nats-servers", d.nats.servers.join(","), "--nats-replicas", String(d.nats.streamReplicas));
    if (d.nats.user) args.push("--nats-user", d.nats.user, "--nats-password-file", "/etc/causeway/nats/password");
    if (d.nats.ca) args.push("--nats-ca", "/etc/causeway/nats/ca.crt");
    if (d.nats.user || d.nats.ca) mounts.push({ name: "nats", mountPath: "/etc/causeway/nats", readOnly: true });
    if (d.nats.user || d.nats.ca) volumes.push({ name: "nats", secret: { secretName: BROKER_NATS_SECRET } });
  } else {
    args.push("--db", "/var/lib/causeway/broker.db");
    mounts.push({ name: "data", mountPath: "/var/lib/causeway" });
    volumes.push({ name: "data", persistentVolumeClaim: { claimName: BROKER_DATA_CLAIM } });
  }
  if (d.tls) {
    args.push("--tls-cert", "/etc/causeway/tls/tls.crt", "--tls-key", "/etc/causeway/tls/tls.key");
    mounts.push({ name: "tls", mountPath: "/etc/causeway/tls", readOnly: true });
    volumes.push({ name: "tls", secret: { secretName: BROKER_TLS_SECRET } });
  }
  return { command: ["node", bundlePath("broker"), ...args], mounts, volumes, image: imageOf(d.images, "broker") ?? IMAGE };
}

const b64 = (v: string) => Buffer.from(v).toString("base64");

/** The broker's Service: NodePort by default, since member gateways in other clusters and the operator's machine must reach it. */
function brokerService(R: typeof kube.R, type: BrokerServiceType = "NodePort"): Manifest {
  return m(R.service, {
    metadata: meta("causeway-broker", BROKER_NAMESPACE),
    spec: { type, selector: { "app.kubernetes.io/name": "causeway-broker" }, ports: [{ name: "grpc", port: BROKER_PORT, targetPort: BROKER_PORT }] },
  });
}

/** Everything `deploy-broker` applies to the broker's cluster, in apply order. */
export function brokerManifests(R: typeof kube.R, adminToken: string, cableSecret: string, d: BrokerDeployment = {}): Manifest[] {
  const ns = BROKER_NAMESPACE;
  const name = "causeway-broker";
  const c = brokerContainer(d);
  const labels = { "app.kubernetes.io/name": name };
  return [
    m(R.namespace, { metadata: meta(ns) }),
    m(R.secret, {
      metadata: meta(BROKER_ADMIN_SECRET, ns),
      type: "Opaque",
      data: { token: b64(adminToken), [kube.CABLE_SECRET_KEY]: b64(cableSecret) },
    }),
    ...(d.tls
      ? [
          m(R.secret, {
            metadata: meta(BROKER_TLS_SECRET, ns),
            type: "kubernetes.io/tls",
            data: { "tls.crt": b64(d.tls.certPem), "tls.key": b64(d.tls.keyPem), "ca.crt": b64(d.tls.caPem) },
          }),
        ]
      : []),
    ...(d.nats?.user || d.nats?.ca
      ? [
          m(R.secret, {
            metadata: meta(BROKER_NATS_SECRET, ns),
            type: "Opaque",
            data: { ...(d.nats.user ? { password: b64(d.nats.password ?? "") } : {}), ...(d.nats.ca ? { "ca.crt": b64(d.nats.ca) } : {}) },
          }),
        ]
      : []),
    // The SQLite store outlives the pod (an emptyDir would lose every cluster's registration on a restart).
    ...(d.nats
      ? []
      : [
          m(R.persistentVolumeClaim, {
            metadata: meta(BROKER_DATA_CLAIM, ns),
            spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
          }),
        ]),
    m(R.deployment, {
      metadata: meta(name, ns, labels),
      spec: {
        // SQLite: one broker, replaced (never two on one file). NATS: replicas spread over nodes, rolled one at a time.
        replicas: d.nats?.replicas ?? 1,
        strategy: d.nats ? { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1, maxSurge: 1 } } : { type: "Recreate" },
        selector: { matchLabels: { ...labels } },
        template: {
          metadata: { labels: { ...PART_OF, ...labels } },
          spec: {
            ...(d.nats
              ? {
                  topologySpreadConstraints: [
                    { maxSkew: 1, topologyKey: "kubernetes.io/hostname", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: { ...labels } } },
                  ],
                }
              : {}),
            containers: [
              {
                name: "broker",
                image: c.image,
                command: c.command,
                ...probed(METRICS_PORTS.broker),
                ports: [
                  { name: "grpc", containerPort: BROKER_PORT },
                  { name: "metrics", containerPort: METRICS_PORTS.broker },
                ],
                volumeMounts: c.mounts,
              },
            ],
            volumes: c.volumes,
          },
        },
      },
    }),
    brokerService(R, d.serviceType),
    metricsService(R, name, ns, METRICS_PORTS.broker),
  ];
}
