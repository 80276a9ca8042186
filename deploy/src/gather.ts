import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { SYSTEM_NAMESPACE } from "@causeway/api";
import { kube } from "@causeway/common";

/** A cluster's Causeway objects (no Secrets) as JSON files. */
export async function gatherApi(client: kube.KubeClient, cdir: string): Promise<void> {
  {
    const types: [kube.ResourceType, string | undefined][] = [
      [kube.R.endpoint, SYSTEM_NAMESPACE],
      [kube.R.cluster, SYSTEM_NAMESPACE],
      [kube.R.gateway, SYSTEM_NAMESPACE],
      [kube.R.daemonSet, SYSTEM_NAMESPACE],
      [kube.R.deployment, SYSTEM_NAMESPACE],
      [kube.R.configMap, SYSTEM_NAMESPACE],
      [kube.R.lease, SYSTEM_NAMESPACE],
      [kube.R.serviceExport, undefined],
      [kube.R.serviceImport, undefined],
      [kube.R.node, undefined],
    ];
    for (const [rt, ns] of types) {
      const list = await client.list(rt, ns).catch((err: unknown) => ({ error: err instanceof Error ? err.message : String(err) }));
      writeFileSync(join(cdir, `${rt.plural}.json`), `${JSON.stringify(list, null, 2)}\n`);
    }
  }
}

/**
 * `causeway gather --kubeconfig`: the Causeway objects of each context's API server (no Secrets)
 * into one .tar.gz. Pod logs need a kubelet to read them from; they are not gathered this way.
 */
export async function gatherKube(kubeconfig: string, contexts: readonly (string | undefined)[], out: string): Promise<{ archive: string; files: number }> {
  const root = mkdtempSync(join(tmpdir(), "cw-gather-"));
  const dir = join(root, "causeway-gather");
  try {
    for (const context of contexts) {
      const cdir = join(dir, context ?? "current");
      mkdirSync(cdir, { recursive: true });
      const client = await kube.KubeClient.connect({ kubeconfig, ...(context ? { context } : {}), timeoutMs: 5000 });
      try {
        writeFileSync(join(cdir, "version.json"), `${JSON.stringify(await client.ping(), null, 2)}\n`);
        await gatherApi(client, cdir);
      } finally {
        client.close();
      }
    }
    const files = countFiles(dir);
    execFileSync("tar", ["-czf", out, "-C", root, basename(dir)]);
    return { archive: out, files };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

export function countFiles(dir: string): number {
  return readdirSync(dir, { withFileTypes: true }).reduce((n, e) => n + (e.isDirectory() ? countFiles(join(dir, e.name)) : 1), 0);
}
