import { CAUSEWAY_CRDS, type ClusterConfig, type CrdDef, crdObject, decodeClusterConfig, SCHEMA_HASH_ANNOTATION, ValidationError } from "@causeway/api";
import type { KubeClient } from "./client.ts";
import { KubeNotFoundError, KubeUnauthorizedError } from "./errors.ts";
import { R } from "./types.ts";

/** The ConfigMap `join` writes: what every component of a member cluster needs to know. */
export const CONFIG_MAP = "causeway-config";
/** The Secret `join` writes: the cluster's broker credential (and the broker's CA when it has TLS). */
export const BROKER_SECRET = "causeway-broker-credentials";
/** The key of BROKER_SECRET that holds the clusterset's cable secret. */
export const CABLE_SECRET_KEY = "cable-secret";

/** A member cluster's configuration plus its broker credential and the clusterset's cable secret. */
export interface JoinedCluster extends ClusterConfig {
  readonly brokerToken: string;
  /** broker-info's cableSecret ("" from brokers deployed before it existed): WireGuard's preshared key derives from it. */
  readonly cableSecret: string;
  /** PEM of the broker's CA (broker-info's ca): the broker is dialled over TLS and must present a certificate it signed; "" → plaintext. */
  readonly brokerCa: string;
}

/** A CRD on the cluster is missing or from another Causeway build: names it and how to fix it. */
export class CrdMismatchError extends ValidationError {
  override name = "CrdMismatchError";
}

/**
 * Reads and validates the cluster's join configuration and, with `withToken`, its broker
 * credential (route agents never read it); throws naming what is missing and the fix.
 */
export async function loadJoinedCluster(client: KubeClient, namespace: string, withToken = true): Promise<JoinedCluster> {
  let cm: { data?: Record<string, string> };
  let secret: { data?: Record<string, string> } = {};
  try {
    cm = await client.get(R.configMap, namespace, CONFIG_MAP);
    if (withToken) secret = await client.get(R.secret, namespace, BROKER_SECRET);
  } catch (err) {
    if (err instanceof KubeNotFoundError) {
      throw new ValidationError(
        `this cluster has not joined a clusterset (no ${namespace}/${CONFIG_MAP} or ${namespace}/${BROKER_SECRET}); run 'causeway join <broker-info>'`,
      );
    }
    throw err;
  }
  const config = decodeClusterConfig(cm.data ?? {}, `${namespace}/${CONFIG_MAP}`);
  const fromSecret = (key: string) =>
    Buffer.from(secret.data?.[key] ?? "", "base64")
      .toString("utf8")
      .trim();
  const token = fromSecret("token");
  if (withToken && !token) throw new ValidationError(`${namespace}/${BROKER_SECRET} has no token; re-run 'causeway join'`);
  return { ...config, brokerToken: token, cableSecret: fromSecret(CABLE_SECRET_KEY), brokerCa: fromSecret("ca.crt") };
}

/**
 * Checks that each CRD this build uses is installed with exactly this build's schema; throws
 * CrdMismatchError naming each CRD that is missing, serves another version or has another schema.
 */
export async function checkCrds(client: KubeClient, defs: readonly CrdDef[] = CAUSEWAY_CRDS): Promise<void> {
  const problems: string[] = [];
  for (const d of defs) {
    const want = crdObject(d) as { metadata: { name: string; annotations: Record<string, string> } };
    const name = want.metadata.name;
    try {
      const got = await client.get<{ metadata: { annotations?: Record<string, string> }; spec: { versions: { name: string; served: boolean }[] } }>(
        R.crd,
        undefined,
        name,
      );
      const served = got.spec.versions.filter((v) => v.served).map((v) => v.name);
      if (!served.includes(d.version)) problems.push(`${name} serves ${served.join(", ") || "no version"}, this build needs ${d.version}`);
      else if (got.metadata.annotations?.[SCHEMA_HASH_ANNOTATION] !== want.metadata.annotations[SCHEMA_HASH_ANNOTATION]) {
        problems.push(
          `${name} has schema ${got.metadata.annotations?.[SCHEMA_HASH_ANNOTATION] ?? "(unknown)"}, this build has ${want.metadata.annotations[SCHEMA_HASH_ANNOTATION]}`,
        );
      }
    } catch (err) {
      if (err instanceof KubeNotFoundError) problems.push(`${name} is not installed`);
      else throw err;
    }
  }
  if (problems.length)
    throw new CrdMismatchError("Causeway's CRDs on this cluster do not match this build; re-run 'causeway join' with this version to update them", problems);
}

/**
 * Whether the cluster is being uninstalled: `causeway uninstall` set `uninstalling` in the
 * configuration, or the configuration (or this component's service account) is gone. Any other
 * failure to read says no: a rolling restart during an API outage must keep the host as it is.
 */
export async function uninstallRequested(client: KubeClient, namespace: string): Promise<boolean> {
  try {
    const cm = await client.get<{ data?: Record<string, string> }>(R.configMap, namespace, CONFIG_MAP);
    return cm.data?.uninstalling === "true";
  } catch (err) {
    return err instanceof KubeNotFoundError || err instanceof KubeUnauthorizedError;
  }
}
