import { kube } from "@causeway/common";
import type { Lab } from "../labs.ts";

/** Where a Kubernetes-mode export goes: a kubeconfig and context (or a lab cluster's API server). */
export interface KubeTarget {
  readonly kubeconfig?: string;
  readonly context?: string;
}

/** The client for --kubeconfig/--context, or the lab cluster's API (a lab started with --kube). */
export async function kubeClientFor(o: KubeTarget, lab?: Lab): Promise<kube.KubeClient> {
  if (lab && o.context) return lab.kubeClient(o.context);
  return kube.KubeClient.connect({ kubeconfig: o.kubeconfig, context: o.context, timeoutMs: 5000 });
}

type Conditions = { type: string; status: string; reason?: string; message?: string }[];

/**
 * Kubernetes mode: creates the ServiceExport (idempotent) and reports its conditions once the
 * lighthouse has set them (up to `waitMs`): ✓ when Valid and Ready, ✗ with the reason otherwise.
 * Returns false when the export is not valid.
 */
export async function exportInKube(client: kube.KubeClient, namespace: string, name: string, waitMs = 5000): Promise<boolean> {
  await client.apply(kube.R.serviceExport, { metadata: { name, namespace } }, { fieldManager: "causeway-cli" });
  const end = Date.now() + waitMs;
  let conditions: Conditions = [];
  while (Date.now() < end) {
    const se = await client.get<{ status?: { conditions?: Conditions } }>(kube.R.serviceExport, namespace, name);
    conditions = se.status?.conditions ?? [];
    if (conditions.some((c) => c.type === "Valid")) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const valid = conditions.find((c) => c.type === "Valid");
  const conflict = conditions.find((c) => c.type === "Conflict" && c.status === "True");
  if (!valid) {
    console.log(
      ` ✓ ServiceExport ${namespace}/${name} created; the lighthouse has not reported on it yet (kubectl -n ${namespace} get serviceexport ${name} -o yaml)`,
    );
    return true;
  }
  if (valid.status !== "True") {
    console.log(` ✗ ServiceExport ${namespace}/${name} created but not valid: ${valid.reason ?? ""} — ${valid.message ?? ""}`);
    return false;
  }
  console.log(` ✓ exported ${namespace}/${name}: ${name}.${namespace}.svc.clusterset.local`);
  if (conflict) console.log(` ⚠ ${conflict.reason ?? "Conflict"}: ${conflict.message ?? ""}`);
  return true;
}

/** Kubernetes mode: deletes the ServiceExport; true if there was one. */
export function unexportInKube(client: kube.KubeClient, namespace: string, name: string): Promise<boolean> {
  return client.delete(kube.R.serviceExport, namespace, name);
}
