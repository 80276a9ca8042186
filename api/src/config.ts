/**
 * The cluster-configuration contract: what `join` writes into the `causeway-config` ConfigMap and
 * every component of a member cluster reads — one typed object, one name per setting from the
 * flag to the ConfigMap key to the code. Values travel typed; strings exist only at the edges
 * (a flag's text, a ConfigMap value) and are decoded here, by the same rules for both.
 */
import { z } from "zod";
import { isIPv4Cidr } from "./cidr.ts";
import { ValidationError } from "./errors.ts";
import { GATEWAY_MODES, type GatewayMode } from "./gatewaymode.ts";
import { CABLE_DRIVERS, type CableDriverName, ClusterIdSchema } from "./resources.ts";

/** How non-gateway nodes reach their gateway: a VXLAN overlay, or plain routes on a shared L2. */
export const INTRA_CLUSTER_MODES = ["vxlan", "direct"] as const;
export type IntraClusterMode = (typeof INTRA_CLUSTER_MODES)[number];

/** A cable driver name this build does not have; the message lists the supported ones. Exit 2. */
export class UnknownCableDriverError extends ValidationError {
  override name = "UnknownCableDriverError";
}

/** The cable driver called `name`; UnknownCableDriverError naming `where` and the supported drivers otherwise. */
export function parseCableDriver(name: string, where = "cable driver"): CableDriverName {
  if ((CABLE_DRIVERS as readonly string[]).includes(name)) return name as CableDriverName;
  throw new UnknownCableDriverError(`unknown ${where} "${name}"; supported: ${CABLE_DRIVERS.join(", ")}`);
}

/** What a gateway runs with: subctl's gateway settings, each with its default. */
export interface GatewaySettings {
  /** Use the public IP towards remote endpoints behind a NAT (NAT traversal). */
  readonly natt: boolean;
  /** No public-IP lookup (air-gapped sites). */
  readonly airGapped: boolean;
  /** The cables' UDP port (VXLAN or WireGuard), published in the Endpoint. */
  readonly nattPort: number;
  /** This cluster's gateway answers, the other side dials (WireGuard). */
  readonly preferredServer: boolean;
  /** Probe every remote endpoint's health-check IP. */
  readonly healthCheck: boolean;
  /** Seconds between probes (≥ 0.1). */
  readonly healthCheckInterval: number;
  /** Unanswered probes in a row that turn a connection to error (≥ 1). */
  readonly healthCheckMaxPacketLossCount: number;
}

export const GATEWAY_DEFAULTS: GatewaySettings = {
  natt: false,
  airGapped: false,
  nattPort: 4500,
  preferredServer: false,
  healthCheck: true,
  healthCheckInterval: 1,
  healthCheckMaxPacketLossCount: 5,
};

type Codec = "boolean" | "port" | "seconds" | "count";

/** Each gateway setting's flag (subctl's name where subctl has one: `--nattport`) and value type. */
export const GATEWAY_SETTINGS: Readonly<Record<keyof GatewaySettings, { readonly flag: string; readonly type: Codec }>> = {
  natt: { flag: "natt", type: "boolean" },
  airGapped: { flag: "air-gapped", type: "boolean" },
  nattPort: { flag: "nattport", type: "port" },
  preferredServer: { flag: "preferred-server", type: "boolean" },
  healthCheck: { flag: "health-check", type: "boolean" },
  healthCheckInterval: { flag: "health-check-interval", type: "seconds" },
  healthCheckMaxPacketLossCount: { flag: "health-check-max-packet-loss-count", type: "count" },
};

const MIN_INTERVAL_S = 0.1;

/** Checks a typed value of a gateway setting; ValidationError naming `where`, the value and what is allowed. */
function checkSetting(type: Codec, v: unknown, where: string): boolean | number {
  const bad = (allowed: string) => new ValidationError(`${where} must be ${allowed}, got ${JSON.stringify(v)}`);
  switch (type) {
    case "boolean":
      if (typeof v !== "boolean") throw bad("true or false");
      return v;
    case "port":
      if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > 65535) throw bad("a UDP port (1-65535)");
      return v;
    case "seconds":
      if (typeof v !== "number" || !Number.isFinite(v) || v < MIN_INTERVAL_S)
        throw bad(`a number of seconds, at least ${MIN_INTERVAL_S} (turn health checks off with --health-check=false instead)`);
      return v;
    case "count":
      if (typeof v !== "number" || !Number.isInteger(v) || v < 1) throw bad("a whole number ≥ 1");
      return v;
    default:
      return type satisfies never;
  }
}

/** Decodes a setting's text (a flag value or a ConfigMap value) by its type; ValidationError naming `where` otherwise. */
function decodeSetting(type: Codec, text: string, where: string): boolean | number {
  if (type === "boolean") {
    if (text !== "true" && text !== "false") throw new ValidationError(`${where} must be true or false, got ${JSON.stringify(text)}`);
    return text === "true";
  }
  const n = text.trim() === "" ? Number.NaN : Number(text);
  if (Number.isNaN(n))
    throw new ValidationError(
      `${where} must be ${type === "port" ? "a UDP port (1-65535)" : type === "seconds" ? "a number of seconds" : "a whole number ≥ 1"}, got ${JSON.stringify(text)}`,
    );
  return checkSetting(type, n, where);
}

/**
 * Gateway settings from flags: `value(flag)` is what the flag parser holds (a string, a boolean
 * for boolean flags, undefined when not given). Only the settings given are returned; a bad value
 * throws ValidationError naming the flag.
 */
export function gatewaySettingsFromFlags(value: (flag: string) => string | boolean | undefined): Partial<GatewaySettings> {
  const out: Partial<Record<keyof GatewaySettings, boolean | number>> = {};
  for (const [key, s] of Object.entries(GATEWAY_SETTINGS) as [keyof GatewaySettings, (typeof GATEWAY_SETTINGS)[keyof GatewaySettings]][]) {
    const v = value(s.flag);
    if (v === undefined) continue;
    out[key] = typeof v === "string" ? decodeSetting(s.type, v, `--${s.flag}`) : checkSetting(s.type, v, `--${s.flag}`);
  }
  return out as unknown as Partial<GatewaySettings>;
}

/** Checked health-check settings; ValidationError naming the setting's flag otherwise. */
export function healthCheckSettings(s: Pick<GatewaySettings, "healthCheckInterval" | "healthCheckMaxPacketLossCount">) {
  const { healthCheckInterval: i, healthCheckMaxPacketLossCount: c } = GATEWAY_SETTINGS;
  return {
    healthCheckInterval: checkSetting(i.type, s.healthCheckInterval, `--${i.flag}`) as number,
    healthCheckMaxPacketLossCount: checkSetting(c.type, s.healthCheckMaxPacketLossCount, `--${c.flag}`) as number,
  };
}

/** A member cluster's configuration: the `causeway-config` ConfigMap, decoded. Gateway settings appear only when join was given them. */
export interface ClusterConfig extends Partial<GatewaySettings> {
  readonly clusterId: string;
  readonly clusterCIDRs: readonly string[];
  readonly serviceCIDRs: readonly string[];
  /** Globalnet: the global CIDR the broker gave the cluster at join (absent: no globalnet). */
  readonly globalCIDRs?: readonly string[];
  readonly cableDriver: CableDriverName;
  readonly intraCluster: IntraClusterMode;
  /** What components dial: host:port, or several replicas' comma-separated. */
  readonly brokerAddress: string;
  /** Set by `causeway uninstall`: components stopped now remove their host state instead of keeping it. */
  readonly uninstalling?: boolean;
  /** join's --gateway-mode (absent: active-passive, as every cluster joined before active-active). */
  readonly gatewayMode?: GatewayMode;
}

type BaseKey =
  "clusterId" | "clusterCIDRs" | "serviceCIDRs" | "globalCIDRs" | "cableDriver" | "intraCluster" | "brokerAddress" | "uninstalling" | "gatewayMode";
const CIDRS = z.array(z.string().refine(isIPv4Cidr, "must be an IPv4 CIDR like 10.1.0.0/16"));

/** The ConfigMap keys other than the gateway settings, in the order join writes them. */
const BASE_KEYS: readonly BaseKey[] = [
  "clusterId",
  "clusterCIDRs",
  "serviceCIDRs",
  "globalCIDRs",
  "cableDriver",
  "intraCluster",
  "brokerAddress",
  "uninstalling",
  "gatewayMode",
];

/** Every key a `causeway-config` ConfigMap may hold. */
export const CLUSTER_CONFIG_KEYS: readonly string[] = [...BASE_KEYS, ...Object.keys(GATEWAY_SETTINGS)];

const list = (s: string) =>
  s
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean);

/** Decodes one base key; ValidationError naming the key, the value and what is allowed. */
function decodeBase(key: BaseKey, text: string, where: string): unknown {
  const at = `${where}: key ${key}`;
  const refuse = (allowed: string) => new ValidationError(`${at} has ${JSON.stringify(text)}; ${allowed}`);
  switch (key) {
    case "clusterId":
      if (!ClusterIdSchema.safeParse(text).success) throw refuse("allowed: a DNS-1123 label (lower-case letters, digits and '-', at most 63)");
      return text;
    case "clusterCIDRs":
    case "serviceCIDRs":
    case "globalCIDRs": {
      const cidrs = list(text);
      if (!CIDRS.safeParse(cidrs).success) throw refuse("allowed: IPv4 CIDRs like 10.1.0.0/16, comma-separated");
      if (key === "clusterCIDRs" && !cidrs.length) throw refuse("allowed: at least one IPv4 CIDR");
      return cidrs;
    }
    case "cableDriver":
      if (!(CABLE_DRIVERS as readonly string[]).includes(text))
        throw new UnknownCableDriverError(`${at} has unknown cable driver ${JSON.stringify(text)}; allowed: ${CABLE_DRIVERS.join(", ")}`);
      return text;
    case "intraCluster":
      if (!(INTRA_CLUSTER_MODES as readonly string[]).includes(text)) throw refuse(`allowed: ${INTRA_CLUSTER_MODES.join(", ")}`);
      return text;
    case "brokerAddress":
      if (!text.trim()) throw refuse("allowed: the broker's host:port");
      return text;
    case "uninstalling":
      return decodeSetting("boolean", text, at);
    case "gatewayMode":
      if (!(GATEWAY_MODES as readonly string[]).includes(text)) throw refuse(`allowed: ${GATEWAY_MODES.join(", ")}`);
      return text;
    default:
      return key satisfies never;
  }
}

/**
 * Pure: the typed configuration of a `causeway-config` ConfigMap's data. Refuses (ValidationError,
 * exit 2) an unknown key, a missing required key and a value of the wrong type, naming the key,
 * the value and the allowed values; `where` names the ConfigMap in the message.
 */
export function decodeClusterConfig(data: Readonly<Record<string, string>>, where = "causeway-config"): ClusterConfig {
  const unknown = Object.keys(data).filter((k) => !CLUSTER_CONFIG_KEYS.includes(k));
  if (unknown.length)
    throw new ValidationError(`${where}: unknown key${unknown.length > 1 ? "s" : ""} ${unknown.join(", ")}; allowed keys: ${CLUSTER_CONFIG_KEYS.join(", ")}`);
  for (const k of ["clusterId", "clusterCIDRs", "brokerAddress"] as const)
    if (data[k] === undefined) throw new ValidationError(`${where}: key ${k} is missing; re-run 'causeway join'`);
  const out: Record<string, unknown> = { serviceCIDRs: [], cableDriver: "vxlan", intraCluster: "vxlan" };
  for (const [k, text] of Object.entries(data)) {
    const setting = GATEWAY_SETTINGS[k as keyof GatewaySettings] as (typeof GATEWAY_SETTINGS)[keyof GatewaySettings] | undefined;
    out[k] = setting ? decodeSetting(setting.type, text, `${where}: key ${k}`) : decodeBase(k as BaseKey, text, where);
  }
  return out as unknown as ClusterConfig;
}

/** Pure: the ConfigMap data of a configuration (lists comma-joined, booleans and numbers as text; absent settings left out). Round-trips through decodeClusterConfig. */
export function encodeClusterConfig(c: ClusterConfig): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of CLUSTER_CONFIG_KEYS) {
    const v = (c as unknown as Record<string, readonly string[] | string | number | boolean | undefined>)[k];
    if (v === undefined) continue;
    out[k] = typeof v === "object" ? v.join(",") : String(v);
  }
  return out;
}
