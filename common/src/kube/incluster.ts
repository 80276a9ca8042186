/**
 * A pod's own credentials (the in-cluster configuration): the API server as the `kubernetes`
 * Service's environment names it, the service account's CA and its token, read again for every
 * request (kubelet rotates it). Causeway's components take this path without loading
 * @kubernetes/client-node: its generated API alone adds about 50 MiB to a process's resident memory.
 */
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import type https from "node:https";
import { join } from "node:path";

export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/** What KubeClient needs of a configuration: @kubernetes/client-node's KubeConfig has the same shape. */
export interface KubeCredentials {
  getCurrentCluster(): { readonly server: string; readonly name: string } | null;
  getCurrentContext(): string;
  applyToHTTPSOptions(opts: https.RequestOptions): Promise<void>;
}

/**
 * Pure (given its inputs): whether a client with no kubeconfig named runs in-cluster the way
 * client-node's loadFromDefault would decide — no $KUBECONFIG, no ~/.kube/config, the Service's
 * environment set and the service account's token mounted.
 */
export function inClusterEnv(env: NodeJS.ProcessEnv = process.env, dir = SERVICE_ACCOUNT_DIR, home = homedir()): boolean {
  return !env.KUBECONFIG && !existsSync(join(home, ".kube/config")) && Boolean(env.KUBERNETES_SERVICE_HOST) && existsSync(join(dir, "token"));
}

export function inClusterCredentials(env: NodeJS.ProcessEnv = process.env, dir = SERVICE_ACCOUNT_DIR): KubeCredentials {
  const host = env.KUBERNETES_SERVICE_HOST ?? "";
  const server = `https://${host.includes(":") ? `[${host}]` : host}:${env.KUBERNETES_SERVICE_PORT ?? "443"}`;
  const ca = readFileSync(join(dir, "ca.crt"));
  return {
    getCurrentCluster: () => ({ server, name: "inCluster" }),
    getCurrentContext: () => "inClusterContext",
    async applyToHTTPSOptions(opts) {
      opts.ca = ca;
      opts.headers = { ...opts.headers, Authorization: `Bearer ${readFileSync(join(dir, "token"), "utf8").trim()}` };
    },
  };
}
