/**
 * A member cluster's broker credential, rotated or revoked by the admin and, with the member's
 * kubeconfig, installed there: the token in Secret causeway-broker-credentials and the workloads
 * rolled (a pod-template annotation), so every component dials the broker with the new one.
 */
import { SYSTEM_NAMESPACE, ValidationError } from "@causeway/api";
import { kube } from "@causeway/common";
import { BrokerConnection } from "@causeway/common/broker-client";
import { readBrokerInfo } from "./brokerinfo.ts";
import { MEMBER_WORKLOADS } from "./manifests.ts";

/** Pod-template annotation bumped on rotation: the workloads roll and read the new credential. */
export const CREDENTIAL_GENERATION_ANNOTATION = "causeway.io/credential-generation";

/** An admin connection from broker-info (address, CA, admin credential). */
export function brokerInfoConnection(path: string): BrokerConnection {
  const info = readBrokerInfo(path);
  return new BrokerConnection({ address: info.brokerURL, token: info.adminToken, ...(info.ca ? { ca: info.ca } : {}) });
}

/**
 * Installs a rotated credential in the member cluster: the Secret's token, then every workload's
 * pod template annotated with the generation (a rollout). Returns what it changed.
 */
export async function installCredential(o: { kubeconfig?: string; context?: string; clusterId: string; token: string; generation: number }): Promise<string[]> {
  const client = await kube.KubeClient.connect({ kubeconfig: o.kubeconfig, context: o.context, timeoutMs: 5000 });
  try {
    const cfg = await kube.loadJoinedCluster(client, SYSTEM_NAMESPACE, false);
    if (cfg.clusterId !== o.clusterId)
      throw new ValidationError(`this kubeconfig's cluster joined as ${cfg.clusterId}, not ${o.clusterId}: give the member's own context`);
    await client.apply(
      kube.R.secret,
      { metadata: { name: kube.BROKER_SECRET, namespace: SYSTEM_NAMESPACE }, ...{ data: { token: Buffer.from(o.token).toString("base64") } } },
      { fieldManager: "causeway-credentials" },
    );
    const changed = [`secret/${kube.BROKER_SECRET}`];
    for (const w of MEMBER_WORKLOADS) {
      const rt = w.kind === "DaemonSet" ? kube.R.daemonSet : kube.R.deployment;
      if (!(await client.find(rt, SYSTEM_NAMESPACE, w.name))) continue;
      await client.apply(
        rt,
        {
          metadata: { name: w.name, namespace: SYSTEM_NAMESPACE },
          ...{ spec: { template: { metadata: { annotations: { [CREDENTIAL_GENERATION_ANNOTATION]: String(o.generation) } } } } },
        },
        { fieldManager: "causeway-credentials" },
      );
      changed.push(`${w.kind.toLowerCase()}/${w.name}`);
    }
    return changed;
  } finally {
    client.close();
  }
}
