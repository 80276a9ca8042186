/**
 * The Helm chart of a member cluster, generated from the same manifests `join` applies (one
 * source): `node deploy/src/chart.ts` writes deploy/chart/causeway/. The objects are rendered
 * with sentinel values, which become template expressions; the ConfigMap, the credential Secret
 * and the configuration digest are templated from values so that `helm template` gives exactly
 * what `join` applies for the same settings (checked by a test with helm built from its module).
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CAUSEWAY_VERSION } from "@causeway/api";
import { kube } from "@causeway/common";
import { stringify } from "yaml";
import { renderManifests } from "./apply.ts";
import { CONFIG_HASH_ANNOTATION, IMAGE, memberManifests } from "./manifests.ts";
import { DeployError } from "./errors.ts";

export const CHART_DIR = join(import.meta.dirname, "../chart/causeway");

const HELPERS = `{{/* The causeway-config data as JSON (sorted keys, as toJson gives): the ConfigMap's data and the digest that rolls the pods. */}}
{{- define "causeway.config" -}}
{{- $c := dict "clusterId" .Values.clusterId "clusterCIDRs" .Values.clusterCIDRs "serviceCIDRs" .Values.serviceCIDRs "cableDriver" .Values.cableDriver "intraCluster" .Values.intraCluster "brokerAddress" .Values.brokerAddress -}}
{{- range $k, $v := .Values.gateway }}{{- if ne (toString $v) "<nil>" }}{{- $_ := set $c $k (toString $v) }}{{- end }}{{- end -}}
{{- toJson $c -}}
{{- end -}}
{{- define "causeway.configHash" -}}
{{- include "causeway.config" . | sha256sum | trunc 16 -}}
{{- end -}}
`;

const VALUES = `# Causeway member cluster: what 'causeway join' would apply. clusterId, clusterCIDRs,
# serviceCIDRs, brokerAddress and brokerToken are required (broker-info has the broker's).
clusterId: ""
# Comma-separated CIDRs.
clusterCIDRs: ""
serviceCIDRs: ""
cableDriver: vxlan
intraCluster: vxlan
brokerAddress: ""
brokerToken: ""
brokerCa: ""
cableSecret: ""
# Gateway settings (join's --natt, --nattport, --preferred-server, --air-gapped, --health-check…):
# natt, nattPort, preferredServer, airGapped, healthCheck, healthCheckInterval, healthCheckMaxPacketLossCount.
gateway: {}
image: ${IMAGE}
`;

/** Pure: the chart's files (path → content). */
export function chartFiles(version: string): Record<string, string> {
  const S = { id: "SENTINELCLUSTERID", token: "SENTINELTOKEN", ca: "SENTINELCA", secret: "SENTINELSECRET", port: 45999 };
  const ms = memberManifests(kube.R, {
    clusterId: S.id,
    clusterCIDRs: ["10.0.0.0/8"],
    serviceCIDRs: ["10.0.0.0/8"],
    // WireGuard renders every optional part (the TUN device's mount); vxlan leaves it out again (onlyFor).
    cableDriver: "wireguard",
    intraCluster: "vxlan",
    brokerAddress: "x",
    brokerToken: S.token,
    brokerCa: S.ca,
    cableSecret: S.secret,
    gateway: { nattPort: S.port },
  });
  const files: Record<string, string> = {
    "Chart.yaml": stringify({
      apiVersion: "v2",
      name: "causeway",
      description: "Causeway member cluster: gateway, route agent and lighthouse (generated from deploy/src/manifests.ts)",
      type: "application",
      version,
      appVersion: version,
    }),
    "values.yaml": VALUES,
    "templates/_helpers.tpl": HELPERS,
  };
  ms.forEach((x, i) => {
    const n = String(i).padStart(2, "0");
    const name = `${n}-${x.type.kind.toLowerCase()}-${x.object.metadata.name}.yaml`;
    if (x.type === kube.R.crd) {
      files[`crds/${name}`] = renderManifests([x]);
      return;
    }
    if (x.type === kube.R.configMap && x.object.metadata.name === kube.CONFIG_MAP) {
      const head = renderManifests([{ ...x, object: { metadata: x.object.metadata } }]);
      files[`templates/${name}`] = `${head}data: {{ include "causeway.config" . }}\n`;
      return;
    }
    if (x.type === kube.R.secret) {
      const head = renderManifests([{ ...x, object: { metadata: x.object.metadata, ...{ type: "Opaque" } } }]);
      files[`templates/${name}`] =
        `${head}data:\n  token: {{ .Values.brokerToken | b64enc }}\n{{- if .Values.brokerCa }}\n  ca.crt: {{ .Values.brokerCa | b64enc }}\n{{- end }}\n{{- if .Values.cableSecret }}\n  ${kube.CABLE_SECRET_KEY}: {{ .Values.cableSecret | b64enc }}\n{{- end }}\n`;
      return;
    }
    // The WireGuard device, the gateway's kept WireGuard key and its keeper (the pod's only init container): only with the WireGuard cable driver.
    const wireguard = `eq .Values.cableDriver "wireguard"`;
    const text = ["wireguard-key", "CAUSEWAY_WG_KEY_FILE", "wireguard-run", "wireguard-keeper", "CAUSEWAY_WIREGUARD_KEEPER", "initContainers"]
      .reduce((t, n) => onlyFor(t, n, wireguard), onlyFor(renderManifests([x]), "dev-net-tun", wireguard))
      .replace(
        new RegExp(`${CONFIG_HASH_ANNOTATION.replace(/[./]/g, "\\$&")}: \\S+`, "g"),
        `${CONFIG_HASH_ANNOTATION}: {{ include "causeway.configHash" . | quote }}`,
      )
      .replaceAll(`image: ${IMAGE}`, "image: {{ .Values.image }}")
      .replaceAll(`Port: ${S.port}`, "Port: {{ .Values.gateway.nattPort | default 4500 }}");
    if (text.includes(String(S.port))) throw new DeployError(`${name}: the cable port is not templated`);
    if (/SENTINEL/.test(text)) throw new DeployError(`${name}: a value is not templated`);
    files[`templates/${name}`] = text;
  });
  return files;
}

/**
 * Pure: wraps every YAML list item `- name: <name>`, or key `<name>:` (with the lines indented
 * under it) in `{{- if <cond> }}` … `{{- end }}`, so the item is rendered only when cond holds.
 */
export function onlyFor(text: string, name: string, cond: string): string {
  const lines = text.split("\n");
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? "";
    const m = /^(\s*)(?:- name: (\S+)|(\S+):)$/.exec(line);
    if (!m || (m[2] ?? m[3]) !== name) {
      out.push(line);
      continue;
    }
    const indent = (m[1] ?? "").length;
    out.push(`{{- if ${cond} }}`, line);
    const key = m[3] !== undefined;
    while (i + 1 < lines.length && /^(\s*)/.exec(lines[i + 1] ?? "")![1]!.length > indent && (key || !/^\s*- /.test((lines[i + 1] ?? "").slice(indent))))
      out.push(lines[++i] ?? "");
    out.push("{{- end }}");
  }
  return out.join("\n");
}

/** Writes the chart (replacing the directory). */
export function writeChart(dir = CHART_DIR, version = CAUSEWAY_VERSION): void {
  rmSync(dir, { recursive: true, force: true });
  for (const [path, content] of Object.entries(chartFiles(version))) {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
}

if (import.meta.main) {
  writeChart();
  console.log(`wrote ${CHART_DIR}`);
}
