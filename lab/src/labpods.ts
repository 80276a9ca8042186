/**
 * Pure: what a real-node lab cluster runs besides Causeway, as Kubernetes objects — the lab's test
 * pods (the echo server from lab/src/tools/echo.ts, in Causeway's image, one pod per topology pod
 * pinned to its node), the Services over them, the cluster's DNS (CoreDNS from its locally built
 * image, as kubeadm installs it) and the PersistentVolume the broker's claim binds to.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { IMAGE } from "@causeway/deploy";
import { clusterDnsIp } from "./nodeconfig.ts";
import { REPO_ROOT } from "./paths.ts";
import { COREDNS_IMAGE } from "./images.ts";
import type { LabService, LabServicePod } from "./services.ts";
import { type ClusterSpec, LAB } from "./topology.ts";

export interface LabObject {
  readonly kind: string;
  readonly object: Record<string, unknown> & { metadata: { name: string; namespace?: string; labels?: Record<string, string> } };
}

/** The label a lab test pod carries: `<node>-<pod>` (its Service selects on it). */
export const LAB_POD_LABEL = "lab.causeway.dev/pod";
export const LAB_TOOLS_CONFIGMAP = "causeway-lab-tools";

/** The name of the Kubernetes Pod standing for topology pod `p` on node `n`. */
export const labPodName = (node: string, pod: string) => `echo-${node}-${pod}`;

/** The lab's tools (the echo and web servers, run by Node from the image) as a ConfigMap in `namespace`, mounted at /lab. */
function toolsConfigMap(namespace: string): LabObject {
  const tool = (f: string) => readFileSync(join(REPO_ROOT, "lab/src/tools", f), "utf8");
  return {
    kind: "configMap",
    object: { metadata: { name: LAB_TOOLS_CONFIGMAP, namespace }, data: { "echo.ts": tool("echo.ts"), "web.ts": tool("web.ts") } },
  };
}

/** A lab tool's container: Node from Causeway's image running /lab/<tool> with `args`, ready once `port` accepts. */
function toolContainer(name: string, tool: string, port: number, args: readonly string[]) {
  return {
    name,
    image: IMAGE,
    imagePullPolicy: "Never",
    command: ["node", `/lab/${tool}`, "--port", String(port), ...args],
    ports: [{ containerPort: port, protocol: "TCP" }],
    readinessProbe: { tcpSocket: { port }, periodSeconds: 1 },
    volumeMounts: [{ name: "tools", mountPath: "/lab", readOnly: true }],
  };
}

/** The label a lab service's pods carry (its Service selects on it). */
export const LAB_SERVICE_LABEL = "lab.causeway.dev/service";

/**
 * A lab service on real nodes (`lab service add`): the namespace, the tools there, the Service
 * (its VIP, or headless) selecting the service's pods, and one Pod per entry of `pods` — the lab
 * web server answering "<cluster>/<pod>", pinned to its node, with hostname and subdomain so that a
 * headless service's endpoints carry the pod's name.
 */
export function labServiceObjects(clusterId: string, svc: LabService, pods: readonly LabServicePod[]): LabObject[] {
  const { namespace, name, port } = svc;
  return [
    { kind: "namespace", object: { metadata: { name: namespace } } },
    toolsConfigMap(namespace),
    {
      kind: "service",
      object: {
        metadata: { name, namespace },
        spec: { clusterIP: svc.vip ?? "None", selector: { [LAB_SERVICE_LABEL]: name }, ports: [{ name: "http", port, targetPort: port, protocol: "TCP" }] },
      },
    },
    ...pods.map((p) => ({
      kind: "pod",
      object: {
        metadata: { name: p.name, namespace, labels: { [LAB_SERVICE_LABEL]: name } },
        spec: {
          nodeSelector: { "kubernetes.io/hostname": p.node },
          hostname: p.name,
          subdomain: name,
          automountServiceAccountToken: false,
          terminationGracePeriodSeconds: 1,
          containers: [toolContainer("web", "web.ts", port, ["--name", `${clusterId}/${p.name}`])],
          volumes: [{ name: "tools", configMap: { name: LAB_TOOLS_CONFIGMAP } }],
        },
      },
    })),
  ];
}

/** The lab's test pods and Services of a cluster (namespace default). */
export function echoObjects(c: ClusterSpec): LabObject[] {
  const out: LabObject[] = [toolsConfigMap("default")];
  for (const n of c.nodes) {
    for (const p of n.pods) {
      out.push({
        kind: "pod",
        object: {
          metadata: { name: labPodName(n.name, p.name), namespace: "default", labels: { app: "echo", [LAB_POD_LABEL]: `${n.name}-${p.name}` } },
          spec: {
            nodeSelector: { "kubernetes.io/hostname": n.name },
            automountServiceAccountToken: false,
            terminationGracePeriodSeconds: 1,
            containers: [toolContainer("echo", "echo.ts", LAB.echoPort, ["--name", `${c.id}/${n.name}/${p.name}`])],
            volumes: [{ name: "tools", configMap: { name: LAB_TOOLS_CONFIGMAP } }],
          },
        },
      });
    }
  }
  for (const s of c.services) {
    const backend = c.nodes.flatMap((n) => n.pods.map((p) => ({ n, p }))).find((x) => x.p.ip === s.backendIp);
    if (!backend) continue;
    out.push({
      kind: "service",
      object: {
        metadata: { name: s.name, namespace: s.namespace },
        spec: {
          clusterIP: s.vip,
          selector: { [LAB_POD_LABEL]: `${backend.n.name}-${backend.p.name}` },
          ports: [{ name: "http", port: s.port, targetPort: s.backendPort, protocol: "TCP" }],
        },
      },
    });
  }
  return out;
}

/** The cluster's DNS as kubeadm installs it: CoreDNS's service account and role, its Deployment (2 replicas) and the kube-dns Service. */
export function corednsObjects(c: ClusterSpec): LabObject[] {
  const ns = "kube-system";
  const labels = { "k8s-app": "kube-dns" };
  return [
    { kind: "serviceAccount", object: { metadata: { name: "coredns", namespace: ns } } },
    {
      kind: "clusterRole",
      object: {
        metadata: { name: "system:coredns" },
        rules: [
          { apiGroups: [""], resources: ["endpoints", "services", "pods", "namespaces"], verbs: ["list", "watch"] },
          { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["list", "watch"] },
        ],
      },
    },
    {
      kind: "clusterRoleBinding",
      object: {
        metadata: { name: "system:coredns" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "system:coredns" },
        subjects: [{ kind: "ServiceAccount", name: "coredns", namespace: ns }],
      },
    },
    {
      kind: "deployment",
      object: {
        metadata: { name: "coredns", namespace: ns, labels },
        spec: {
          replicas: Math.min(2, c.nodes.length),
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: {
              serviceAccountName: "coredns",
              terminationGracePeriodSeconds: 1,
              topologySpreadConstraints: [
                { maxSkew: 1, topologyKey: "kubernetes.io/hostname", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: labels } },
              ],
              containers: [
                {
                  name: "coredns",
                  image: COREDNS_IMAGE,
                  imagePullPolicy: "Never",
                  args: ["-conf", "/etc/coredns/Corefile"],
                  ports: [
                    { name: "dns", containerPort: 53, protocol: "UDP" },
                    { name: "dns-tcp", containerPort: 53, protocol: "TCP" },
                  ],
                  readinessProbe: { httpGet: { path: "/ready", port: 8181 }, periodSeconds: 2 },
                  livenessProbe: { httpGet: { path: "/health", port: 8080 }, periodSeconds: 10 },
                  volumeMounts: [{ name: "config", mountPath: "/etc/coredns", readOnly: true }],
                },
              ],
              volumes: [{ name: "config", configMap: { name: "coredns", items: [{ key: "Corefile", path: "Corefile" }] } }],
            },
          },
        },
      },
    },
    {
      kind: "service",
      object: {
        metadata: { name: "kube-dns", namespace: ns, labels },
        spec: {
          clusterIP: clusterDnsIp(c),
          selector: labels,
          ports: [
            { name: "dns", port: 53, targetPort: 53, protocol: "UDP" },
            { name: "dns-tcp", port: 53, targetPort: 53, protocol: "TCP" },
          ],
        },
      },
    },
  ];
}

/** A local PersistentVolume (a directory of the lab) for the broker's claim; no class, as a claim without one binds. */
export function brokerVolume(dir: string): LabObject {
  return {
    kind: "persistentVolume",
    object: {
      metadata: { name: "causeway-lab-broker" },
      spec: {
        capacity: { storage: "1Gi" },
        accessModes: ["ReadWriteOnce"],
        persistentVolumeReclaimPolicy: "Retain",
        storageClassName: "",
        hostPath: { path: dir, type: "DirectoryOrCreate" },
      },
    },
  };
}
