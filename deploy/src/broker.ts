import { randomBytes } from "node:crypto";
import { kube } from "@causeway/common";
import { applyManifests, preflight, renderManifests } from "./apply.ts";
import { type BrokerInfo, writeBrokerInfo } from "./brokerinfo.ts";
import { BROKER_ADMIN_SECRET, BROKER_NAMESPACE, BROKER_PORT, brokerManifests } from "./manifests.ts";

export interface DeployBrokerOptions {
  readonly kubeconfig?: string;
  readonly context?: string;
  /** host:port member gateways dial; default: the broker Service's address (reachable in-cluster only). */
  readonly brokerUrl?: string;
  /** Where broker-info is written. */
  readonly out: string;
  readonly dryRun?: boolean;
  readonly say?: (line: string) => void;
}

export interface DeployBrokerResult {
  readonly info: BrokerInfo;
  readonly changed: readonly string[];
  readonly backup?: string;
  readonly manifests?: string;
}

/** The admin token and cable secret the broker already has (kept across re-runs), or new ones. */
async function brokerSecrets(client: kube.KubeClient): Promise<{ token: string; cableSecret: string }> {
  let data: Record<string, string> = {};
  try {
    data = (await client.get<{ data?: Record<string, string> }>(kube.R.secret, BROKER_NAMESPACE, BROKER_ADMIN_SECRET)).data ?? {};
  } catch (err) {
    if (!(err instanceof kube.KubeNotFoundError)) throw err;
  }
  const held = (k: string) =>
    Buffer.from(data[k] ?? "", "base64")
      .toString("utf8")
      .trim();
  return {
    token: held("token") || `cwa.${randomBytes(32).toString("base64url")}`,
    cableSecret: held(kube.CABLE_SECRET_KEY) || randomBytes(48).toString("base64"),
  };
}

/** `causeway deploy-broker`: applies the broker to a cluster and writes broker-info. Idempotent: a re-run keeps the admin token. */
export async function deployBroker(o: DeployBrokerOptions): Promise<DeployBrokerResult> {
  const client = await kube.KubeClient.connect({ kubeconfig: o.kubeconfig, context: o.context, timeoutMs: 5000 });
  try {
    await client.ping();
    const { token, cableSecret } = await brokerSecrets(client);
    const ms = brokerManifests(kube.R, token, cableSecret);
    let brokerURL = o.brokerUrl;
    if (o.dryRun)
      return {
        info: { brokerURL: brokerURL ?? "", ca: "", adminToken: "cwa.<redacted>", components: [], cableSecret: "<redacted>" },
        changed: [],
        manifests: renderManifests(brokerManifests(kube.R, "cwa.<redacted>", "<redacted>")),
      };
    await preflight(client, ms);
    const { changed } = await applyManifests(client, ms);
    if (!brokerURL) {
      const svc = await client.get<{ spec?: { clusterIP?: string } }>(kube.R.service, BROKER_NAMESPACE, "causeway-broker");
      brokerURL = `${svc.spec?.clusterIP ?? "causeway-broker.causeway-broker.svc"}:${BROKER_PORT}`;
      o.say?.(`--broker-url not given: member gateways must reach the broker at ${brokerURL} (its Service address)`);
    }
    const info: BrokerInfo = { brokerURL, ca: "", adminToken: token, components: ["connectivity", "service-discovery"], cableSecret };
    const { backup } = writeBrokerInfo(o.out, info);
    return { info, changed, backup };
  } finally {
    client.close();
  }
}
