import { randomBytes } from "node:crypto";
import { errorMessage } from "@causeway/api";
import { kube } from "@causeway/common";
import { BrokerConnection } from "@causeway/common/broker-client";
import { DeployError } from "./errors.ts";
import { waitRollout } from "./rollout.ts";
import { applyManifests, preflight, renderManifests } from "./apply.ts";
import type { BrokerInfo } from "@causeway/api";
import { writeBrokerInfo } from "./brokerinfo.ts";
import { brokerAddress } from "./brokeraddress.ts";
import { BROKER_ADMIN_SECRET, BROKER_NAMESPACE, BROKER_TLS_SECRET, type BrokerDeployment, type BrokerServiceType, brokerManifests } from "./manifests.ts";
import { type BrokerPki, makeBrokerPki, pkiCovers } from "./tls.ts";

export interface DeployBrokerOptions {
  readonly kubeconfig?: string;
  readonly context?: string;
  /** host:port members dial (a host alone: the Service's port); default: a node's address and the NodePort (see brokeraddress.ts). */
  readonly brokerUrl?: string;
  /** The broker Service's type (default NodePort). */
  readonly serviceType?: BrokerServiceType;
  /** Where broker-info is written. */
  readonly out: string;
  readonly dryRun?: boolean;
  readonly say?: (line: string) => void;
  /** TLS on the broker's address (default true): a CA and certificate are made (kept across re-runs while they cover the address) and the CA goes into broker-info. */
  readonly tls?: boolean;
  /** Wait this long for the broker's pods, then check it answers at its address from this machine (0 or absent: neither). */
  readonly waitMs?: number;
  /** The NATS JetStream backend: the broker's replicas share a bucket on these servers. */
  readonly nats?: BrokerDeployment["nats"];
  /** Images instead of the release's (--image-override broker=… or an image for all). */
  readonly images?: BrokerDeployment["images"];
  /** `--globalnet …`: members with overlapping CIDRs meet through global CIDRs. */
  readonly globalnet?: BrokerDeployment["globalnet"];
}

/**
 * The broker answers this machine at broker-info's address (an admin call), retried for up to
 * `ms` (service rules take a moment); DeployError naming the address, the error and the flags otherwise.
 */
async function answersAt(info: BrokerInfo, ms: number): Promise<void> {
  const end = Date.now() + ms;
  let last: unknown;
  while (Date.now() < end) {
    const conn = new BrokerConnection({ address: info.brokerURL, token: info.adminToken, ...(info.ca ? { ca: info.ca } : {}), callTimeoutMs: 3000 });
    try {
      await conn.whoAmI();
      return;
    } catch (err) {
      last = err;
    } finally {
      conn.close();
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new DeployError(
    `the broker runs, but ${info.brokerURL} does not answer from this machine within ${ms / 1000} s (${errorMessage(last)}); members and this machine must reach it: pass --broker-url <host[:port]> with an address they reach, or --service-type LoadBalancer (broker-info was written with ${info.brokerURL})`,
  );
}

export interface DeployBrokerResult {
  readonly info: BrokerInfo;
  readonly changed: readonly string[];
  readonly backup?: string;
  readonly manifests?: string;
}

/** The admin token and cable secret the broker already has (kept across re-runs), or new ones. */
async function brokerSecrets(client: kube.KubeClient): Promise<{ token: string; cableSecret: string; pki?: BrokerPki }> {
  const read = async (name: string) => {
    const data = (await client.find<{ data?: Record<string, string> }>(kube.R.secret, BROKER_NAMESPACE, name))?.data ?? {};
    return (k: string) => Buffer.from(data[k] ?? "", "base64").toString("utf8");
  };
  const held = await read(BROKER_ADMIN_SECRET);
  const tls = await read(BROKER_TLS_SECRET);
  const pki = { caPem: tls("ca.crt"), certPem: tls("tls.crt"), keyPem: tls("tls.key") };
  return {
    token: held("token").trim() || `cwa.${randomBytes(32).toString("base64url")}`,
    cableSecret: held(kube.CABLE_SECRET_KEY).trim() || randomBytes(48).toString("base64"),
    ...(pki.certPem ? { pki } : {}),
  };
}

/** deploy-broker --dry-run: what would be applied, secrets redacted. */
function dryRun(brokerURL: string | undefined, base: BrokerDeployment, tls: boolean): DeployBrokerResult {
  const placeholder = { certPem: "<made at deploy>", keyPem: "<made at deploy>", caPem: "<made at deploy>" };
  return {
    info: { brokerURL: brokerURL ?? "", ca: "", adminToken: "cwa.<redacted>", components: [], cableSecret: "<redacted>" },
    changed: [],
    manifests: renderManifests(brokerManifests(kube.R, "cwa.<redacted>", "<redacted>", { ...base, ...(tls ? { tls: placeholder } : {}) })),
  };
}

/** The TLS material the broker keeps while it covers `names`, or new material (said). */
function brokerPki(held: BrokerPki | undefined, names: readonly string[], say?: (line: string) => void): BrokerPki {
  if (held && pkiCovers(held, names)) return held;
  say?.(`made the broker's TLS certificate for ${names.join(", ")} (its CA is in broker-info)`);
  return makeBrokerPki(names);
}

/** The names a member may dial the broker by: the broker URL's host, the Service's address and DNS names. */
function tlsNames(brokerURL: string, serviceIp: string | undefined): string[] {
  // Several replicas' addresses (host:port,host:port): one certificate for all of them.
  const hosts = brokerURL.split(",").map((u) =>
    u
      .trim()
      .replace(/:\d+$/, "")
      .replace(/^\[|\]$/g, ""),
  );
  const svc = `causeway-broker.${BROKER_NAMESPACE}.svc`;
  return [...new Set([...hosts, ...(serviceIp ? [serviceIp] : []), svc, `${svc}.cluster.local`].filter(Boolean))];
}

/** What the options say of the broker's deployment, before its TLS material exists. */
function baseDeployment(o: DeployBrokerOptions): BrokerDeployment {
  return {
    ...(o.globalnet?.enabled ? { globalnet: o.globalnet } : {}),
    ...(o.nats ? { nats: o.nats } : {}),
    ...(o.images ? { images: o.images } : {}),
    ...(o.serviceType ? { serviceType: o.serviceType } : {}),
  };
}

/** `causeway deploy-broker`: applies the broker to a cluster and writes broker-info. Idempotent: a re-run keeps the admin token. */
export async function deployBroker(o: DeployBrokerOptions): Promise<DeployBrokerResult> {
  const client = await kube.KubeClient.connect({ kubeconfig: o.kubeconfig, context: o.context, timeoutMs: 5000 });
  try {
    await client.ping();
    const secrets = await brokerSecrets(client);
    const { token, cableSecret } = secrets;
    const tlsOn = o.tls ?? true;
    const base = baseDeployment(o);
    let brokerURL = o.brokerUrl;
    if (o.dryRun) return dryRun(brokerURL, base, tlsOn);
    // The Service first: its address goes into the certificate (and is the default broker URL).
    const plain = brokerManifests(kube.R, token, cableSecret, base);
    await preflight(client, plain);
    const pre = await applyManifests(
      client,
      plain.filter((x) => x.type === kube.R.namespace || x.type === kube.R.service),
    );
    const svc = await client.get<{ spec?: { clusterIP?: string } }>(kube.R.service, BROKER_NAMESPACE, "causeway-broker");
    const address = await brokerAddress(client, brokerURL);
    brokerURL = address.url;
    if (address.how !== "--broker-url") o.say?.(`members and this machine reach the broker at ${brokerURL} (${address.how})`);
    const pki = tlsOn ? brokerPki(secrets.pki, tlsNames(brokerURL, svc.spec?.clusterIP), o.say) : undefined;
    const ms = brokerManifests(kube.R, token, cableSecret, { ...base, ...(pki ? { tls: pki } : {}) });
    const applied = await applyManifests(client, ms);
    const changed = [...new Set([...pre.changed, ...applied.changed])];
    const info: BrokerInfo = { brokerURL, ca: pki?.caPem ?? "", adminToken: token, components: ["connectivity", "service-discovery"], cableSecret };
    const { backup } = writeBrokerInfo(o.out, info);
    if (o.waitMs) {
      await waitRollout(client, BROKER_NAMESPACE, ["causeway-broker"], o.waitMs);
      await answersAt(info, Math.min(o.waitMs, 30_000));
      o.say?.(`the broker answers at ${brokerURL}`);
    }
    return { info, changed, backup };
  } finally {
    client.close();
  }
}
