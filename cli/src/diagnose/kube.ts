import { errorMessage, SYSTEM_NAMESPACE } from "@causeway/api";
import { kube, view } from "@causeway/common";
import { MEMBER_WORKLOADS, type PodObject, podProblems, warningEvents } from "@causeway/deploy";
import type { CheckResult } from "@causeway/common";

/** The oldest Kubernetes minor release Causeway is tested against (the lab's is newer). */
export const MIN_KUBE_MINOR = 29;

const ok = (name: string, detail: string): CheckResult => ({ name, ok: true, detail, ms: 0 });
const bad = (name: string, detail: string): CheckResult => ({ name, ok: false, detail, ms: 0 });

/** The API server's version is one Causeway supports. */
export async function k8sVersion(client: kube.KubeClient): Promise<CheckResult[]> {
  const v = await client.ping();
  const minor = Number(/^v1\.(\d+)/.exec(v.gitVersion ?? "")?.[1] ?? Number.NaN);
  const name = `Kubernetes version ${v.gitVersion ?? "(unknown)"}`;
  if (!Number.isFinite(minor)) return [bad(name, "the API server did not say its version")];
  return [minor >= MIN_KUBE_MINOR ? ok(name, "supported") : bad(name, `older than v1.${MIN_KUBE_MINOR}: upgrade the cluster`)];
}

/** Causeway's objects are there and sane: CRDs of this build, configuration, workloads, a gateway node, the DNS Service, CoreDNS wired. */
export async function deployment(client: kube.KubeClient): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  const ns = SYSTEM_NAMESPACE;
  try {
    await kube.checkCrds(client);
    out.push(ok("CRDs match this build", "ok"));
  } catch (err) {
    out.push(bad("CRDs match this build", `${errorMessage(err)} — re-run 'causeway join' with this version`));
  }
  try {
    const c = await kube.loadJoinedCluster(client, ns, false);
    out.push(ok(`joined as ${c.clusterId}`, `broker ${c.brokerAddress}`));
  } catch (err) {
    out.push(bad("joined to a clusterset", `${errorMessage(err)}`));
    return out;
  }
  for (const w of MEMBER_WORKLOADS) {
    const found = await client.find(w.kind === "DaemonSet" ? kube.R.daemonSet : kube.R.deployment, ns, w.name);
    out.push(found ? ok(`${w.kind} ${w.name}`, "present") : bad(`${w.kind} ${w.name}`, "missing — re-run 'causeway join' to restore it"));
    if (!found) continue;
    // Pods that are not ready, with what their container last said (a missing /dev/net/tun, a read-only /proc/sys, no iptables backend…).
    const pods = await client.list<PodObject>(kube.R.pod, ns, { labelSelector: `app.kubernetes.io/name=${w.name}` });
    for (const line of podProblems(pods.items, await warningEvents(client, ns))) out.push(bad(`${w.kind} ${w.name}: pod not ready`, line));
  }
  const gws = await client.list<{ metadata: kube.ObjectMeta }>(kube.R.node, undefined, { labelSelector: `${view.GATEWAY_NODE_LABEL}=true` });
  out.push(
    gws.items.length
      ? ok("gateway nodes", gws.items.map((n) => n.metadata.name).join(", "))
      : bad("gateway nodes", `no node is labelled ${view.GATEWAY_NODE_LABEL}=true — label one (kubectl label node <name> ${view.GATEWAY_NODE_LABEL}=true)`),
  );
  const svc = await client.find<{ spec?: { clusterIP?: string } }>(kube.R.service, ns, "causeway-lighthouse-dns");
  out.push(
    svc?.spec?.clusterIP
      ? ok("lighthouse DNS Service", svc.spec.clusterIP)
      : bad("lighthouse DNS Service", "missing or without a cluster IP — re-run 'causeway join'"),
  );
  return out;
}

type Se = { metadata: kube.ObjectMeta; status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[] } };

/** Pure: what a ServiceExport's conditions say, as a finding. */
function exportFinding(se: Se): CheckResult {
  const name = `ServiceExport ${se.metadata.namespace}/${se.metadata.name}`;
  const cond = (t: string) => se.status?.conditions?.find((c) => c.type === t);
  const valid = cond("Valid");
  const conflict = cond("Conflict");
  const text = (c: { reason?: string; message?: string }) => `${c.reason ?? ""} ${c.message ?? ""}`.trim();
  if (!valid) return bad(name, "no conditions yet — is the lighthouse running? ('causeway diagnose deployment')");
  if (valid.status !== "True") return bad(name, `not valid: ${text(valid)}`);
  if (conflict?.status === "True") return bad(name, `conflict: ${text(conflict)}`);
  return ok(name, "exported");
}

/** Service discovery: CoreDNS forwards the clusterset zone, and every ServiceExport is valid, exported and without conflict. */
export async function serviceDiscovery(client: kube.KubeClient): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  const cm = await client.find<{ data?: Record<string, string> }>(kube.R.configMap, "kube-system", "coredns");
  const custom = await client.find<{ data?: Record<string, string> }>(kube.R.configMap, "kube-system", "coredns-custom");
  const wired = (cm?.data?.Corefile ?? "").includes("# causeway-start") || Boolean(custom?.data?.["causeway.server"]);
  out.push(
    wired
      ? ok("CoreDNS forwards clusterset.local", "kube-system ConfigMap wired")
      : bad(
          "CoreDNS forwards clusterset.local",
          "no Causeway block in kube-system/coredns or coredns-custom — re-run 'causeway join', or add 'causeway corefile --dns <ip>' output to your DNS",
        ),
  );
  const exports = await client.list<Se>(kube.R.serviceExport).catch(() => ({ items: [] as Se[] }));
  for (const se of exports.items) out.push(exportFinding(se));
  return out;
}

/** kube-proxy's mode (iptables, ipvs, nftables) — informational: the data path works with each. */
export async function kubeProxyMode(client: kube.KubeClient): Promise<CheckResult[]> {
  const cm = await client.find<{ data?: Record<string, string> }>(kube.R.configMap, "kube-system", "kube-proxy");
  const conf = cm?.data?.["config.conf"] ?? "";
  const mode = /^mode:\s*"?([a-z]*)"?/m.exec(conf)?.[1] || (cm ? "iptables (default)" : "unknown (no kube-system/kube-proxy ConfigMap)");
  return [ok(`kube-proxy mode: ${mode}`, "supported")];
}

/** The CNI, from the DaemonSets in kube-system — informational (Causeway needs only routable pod CIDRs). */
export async function cni(client: kube.KubeClient): Promise<CheckResult[]> {
  const ds = await client.list<{ metadata: kube.ObjectMeta }>(kube.R.daemonSet, "kube-system").catch(() => ({ items: [] as { metadata: kube.ObjectMeta }[] }));
  const known = ["calico", "cilium", "flannel", "weave", "canal", "kube-router", "ovn", "antrea"];
  const found = ds.items.map((d) => d.metadata.name).find((n) => known.some((k) => n.includes(k)));
  return [ok(`network plugin: ${found ?? "generic (none of the known plugins' DaemonSets found)"}`, "supported")];
}

export const KUBE_CHECKS: Record<string, (client: kube.KubeClient) => Promise<CheckResult[]>> = {
  "k8s-version": k8sVersion,
  deployment,
  "service-discovery": serviceDiscovery,
  "kube-proxy-mode": kubeProxyMode,
  cni,
};
