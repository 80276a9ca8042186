import { SYSTEM_NAMESPACE, ValidationError } from "@causeway/api";
import { kube } from "@causeway/common";
import { CLUSTERSET_DNS_ZONES, corednsStanza, withoutStanza, withStanza } from "@causeway/common";
import { LIGHTHOUSE_DNS_SERVICE } from "./manifests.ts";
import { DeployError } from "./errors.ts";

/** The key Causeway's server block takes in a `coredns-custom` ConfigMap (AKS-style: `*.server` keys are imported as server blocks). */
export const CUSTOM_COREDNS_KEY = "causeway.server";

interface ConfigMapObject {
  metadata: kube.ObjectMeta;
  data?: Record<string, string>;
}

/** The ConfigMap with new data, for a conditional replace (its resourceVersion kept). */
const withData = (cm: ConfigMapObject, data: Record<string, string>): kube.KubeObject & Record<string, unknown> => ({ ...cm, data });

/** The lighthouse DNS Service's cluster IP, once the API server has allocated it. */
export async function lighthouseDnsIp(client: kube.KubeClient, timeoutMs = 10_000): Promise<string> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const svc = await client.find<{ spec?: { clusterIP?: string } }>(kube.R.service, SYSTEM_NAMESPACE, LIGHTHOUSE_DNS_SERVICE);
    const ip = svc?.spec?.clusterIP;
    if (ip && ip !== "None") return ip;
    if (Date.now() > end) throw new DeployError(`Service ${SYSTEM_NAMESPACE}/${LIGHTHOUSE_DNS_SERVICE} has no cluster IP after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export type CoreDnsWiring = { kind: "coredns-custom" | "coredns"; changed: boolean } | { kind: "none"; stanza: string };

/**
 * Makes the cluster's CoreDNS forward the clusterset zones to `dnsIp`: into
 * `kube-system/coredns-custom` under `causeway.server` when that ConfigMap exists (managed
 * CoreDNS that imports it), else between the markers of `kube-system/coredns`'s Corefile
 * (replaced in place on re-runs; the rest of the Corefile untouched). Neither: nothing written,
 * the stanza returned for the operator. The write is conditional on the version read (a
 * concurrent edit fails with a conflict rather than being lost).
 */
export async function wireCoreDns(
  client: kube.KubeClient,
  dnsIp: string,
  zones: readonly string[] = CLUSTERSET_DNS_ZONES,
  customConfigMap?: string,
): Promise<CoreDnsWiring> {
  const stanza = corednsStanza(dnsIp, zones);
  const [customNs, customName] = customConfigMap ? customConfigMap.split("/") : ["kube-system", "coredns-custom"];
  if (!customNs || !customName) throw new ValidationError(`--coredns-custom-configmap takes <namespace>/<name>, got "${customConfigMap}"`);
  const custom = await client.find<ConfigMapObject>(kube.R.configMap, customNs, customName);
  if (customConfigMap && !custom)
    throw new ValidationError(
      `ConfigMap ${customConfigMap} (--coredns-custom-configmap) does not exist; create it, or leave the flag out to use kube-system/coredns`,
    );
  if (custom) {
    const block = `${stanza}\n`;
    if (custom.data?.[CUSTOM_COREDNS_KEY] === block) return { kind: "coredns-custom", changed: false };
    await client.replace(kube.R.configMap, withData(custom, { ...custom.data, [CUSTOM_COREDNS_KEY]: block }));
    return { kind: "coredns-custom", changed: true };
  }
  const cm = await client.find<ConfigMapObject>(kube.R.configMap, "kube-system", "coredns");
  const corefile = cm?.data?.Corefile;
  if (!cm || corefile === undefined) return { kind: "none", stanza };
  const next = withStanza(corefile, stanza);
  if (next === corefile) return { kind: "coredns", changed: false };
  await client.replace(kube.R.configMap, withData(cm, { ...cm.data, Corefile: next }));
  return { kind: "coredns", changed: true };
}

/** Takes Causeway's stanza out of the cluster's CoreDNS configuration again (uninstall). */
export async function unwireCoreDns(client: kube.KubeClient): Promise<boolean> {
  const custom = await client.find<ConfigMapObject>(kube.R.configMap, "kube-system", "coredns-custom");
  if (custom?.data?.[CUSTOM_COREDNS_KEY] !== undefined) {
    const { [CUSTOM_COREDNS_KEY]: _gone, ...rest } = custom.data;
    await client.replace(kube.R.configMap, withData(custom, rest));
    return true;
  }
  const cm = await client.find<ConfigMapObject>(kube.R.configMap, "kube-system", "coredns");
  const corefile = cm?.data?.Corefile;
  if (!cm || corefile === undefined) return false;
  const next = withoutStanza(corefile);
  if (next === corefile) return false;
  await client.replace(kube.R.configMap, withData(cm, { ...cm.data, Corefile: next }));
  return true;
}
