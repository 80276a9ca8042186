import { ValidationError } from "@causeway/api";
import { kube } from "@causeway/common";

/**
 * Two clusters through their API servers, as `--kubeconfig` (one file, or one per cluster:
 * a.yaml,b.yaml) and `--context a,b` name them; two files without --context: each file's current
 * context. The caller closes both clients.
 */
export async function connectPair(o: { kubeconfig?: string; context?: string }): Promise<[kube.KubeClient, kube.KubeClient]> {
  const files = (o.kubeconfig ?? "").split(",").map((x) => x.trim());
  const contexts = o.context === undefined && files.length === 2 ? [undefined, undefined] : (o.context ?? "").split(",").map((x) => x.trim());
  const [ca, cb] = contexts;
  if (o.context !== undefined || files.length !== 2)
    if (contexts.length !== 2 || !ca || !cb || ca === cb)
      throw new ValidationError(
        "--context takes the two clusters' contexts, e.g. --context east,west (or give one kubeconfig per cluster: --kubeconfig a.yaml,b.yaml)",
      );
  if (files.length > 2) throw new ValidationError("--kubeconfig takes one file, or one per context (a.yaml,b.yaml)");
  const a = await kube.KubeClient.connect({ kubeconfig: files[0], context: ca, timeoutMs: 5000 });
  try {
    return [a, await kube.KubeClient.connect({ kubeconfig: files[1] ?? files[0], context: cb, timeoutMs: 5000 })];
  } catch (err) {
    a.close();
    throw err;
  }
}
