import { spawn } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { CommandRunner } from "@causeway/common";
import { corednsStanza } from "@causeway/common";
import { attachPod, type LabService } from "./services.ts";
import type { ClusterSpec } from "./topology.ts";
import { REPO_ROOT as REPO } from "./paths.ts";

/**
 * The CoreDNS binary built from its Go module (lab/coredns/build.sh: a minute or two the first
 * time, cached after; a build already under way is waited for). The build's progress goes to stderr.
 */
export function coreDnsBinary(): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", [join(REPO, "lab/coredns/build.sh")], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolve(out.trim()) : reject(new Error(`lab/coredns/build.sh exited ${code}: CoreDNS could not be built (its output is above)`)),
    );
  });
}

/** A cluster's DNS pod (the lab's kube-dns): its own namespace behind n0 at 10.I.0.53. */
export interface ClusterDnsSpec {
  readonly ns: string;
  readonly ip: string;
  readonly node: string;
  readonly hostIf: string;
}

export function clusterDnsSpec(lab: string, c: ClusterSpec): ClusterDnsSpec {
  return { ns: `${lab}-${c.id}-n0-dns`, ip: `${c.podCidr.split(".").slice(0, 2).join(".")}.0.53`, node: `${lab}-${c.id}-n0`, hostIf: "vdns" };
}

/** Pure: the pods' resolv.conf (Kubernetes' form: the cluster DNS, search paths, ndots 5). */
export function podResolvConf(dnsIp: string, namespace = "default"): string {
  return `nameserver ${dnsIp}\nsearch ${namespace}.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n`;
}

/**
 * Pure: the cluster.local zone for the cluster's services (ClusterSetIP: the VIP; headless: each
 * pod, and the pod by name), authoritative like the kubernetes plugin (NXDOMAIN with the SOA
 * for unknown names). CoreDNS reloads it when `serial` changes.
 */
export function clusterZone(c: ClusterSpec, services: readonly LabService[], dnsIp: string, serial: number): string {
  const lines = [
    "$ORIGIN cluster.local.",
    `@ 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. ${serial} 7200 1800 86400 5`,
    "@ 5 IN NS ns.dns.cluster.local.",
    `ns.dns 5 IN A ${dnsIp}`,
    ...c.services.map((s) => `${s.name}.${s.namespace}.svc 5 IN A ${s.vip}`),
  ];
  for (const s of services) {
    const name = `${s.name}.${s.namespace}.svc`;
    if (s.vip) lines.push(`${name} 5 IN A ${s.vip}`);
    else for (const p of s.pods) lines.push(`${name} 5 IN A ${p.ip}`, `${p.name}.${name} 5 IN A ${p.ip}`);
  }
  return `${lines.join("\n")}\n`;
}

/**
 * Pure: the cluster's Corefile: cluster.local from the zone file (re-read every second), and the
 * clusterset zones forwarded to the cluster's lighthouse with the stanza `causeway corefile`
 * prints; other names are refused (the lab reaches nothing outside).
 */
export function labCorefile(zoneFile: string, lighthouseIp: string): string {
  return ["cluster.local:53 {", `    file ${zoneFile} {`, "        reload 1s", "    }", "    errors", "}", corednsStanza(lighthouseIp), ""].join("\n");
}

/** Creates the DNS pod's namespace behind n0. */
export async function buildDnsPod(run: CommandRunner, c: ClusterSpec, d: ClusterDnsSpec): Promise<void> {
  const n0 = c.nodes[0];
  if (n0) await attachPod(run, n0, d.ns, d.hostIf, d.ip);
}

/** Gives a pod namespace its resolv.conf: `ip netns exec` mounts /etc/netns/<ns>/resolv.conf over /etc/resolv.conf. */
export function writePodResolvConf(ns: string, dnsIp: string): void {
  mkdirSync(join("/etc/netns", ns), { recursive: true });
  writeFileSync(join("/etc/netns", ns, "resolv.conf"), podResolvConf(dnsIp));
}

/** Removes the /etc/netns entries of a lab's namespaces (by name prefix). */
export function removePodResolvConfs(names: readonly string[]): void {
  for (const ns of names) rmSync(join("/etc/netns", ns), { recursive: true, force: true });
}
