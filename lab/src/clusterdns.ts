import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildDnsPod, clusterDnsSpec, clusterZone, coreDnsBinary, labCorefile, writePodResolvConf } from "./dns.ts";
import { startIn } from "./processes.ts";
import type { LabCluster, LabCore } from "./state.ts";

/**
 * Standalone: the cluster's DNS as in a Kubernetes cluster: a CoreDNS pod (built from its Go module) at
 * 10.I.0.53 serving cluster.local for the lab's services and forwarding clusterset.local to
 * the cluster's lighthouse with the generated stanza; every pod resolves through it.
 */
export async function startClusterDns(lab: LabCore, c: LabCluster): Promise<void> {
  const st = lab.state;
  const lighthouse = c.spec.nodes[0];
  if (!lighthouse) return;
  const d = clusterDnsSpec(st.name, c.spec);
  const corefile = join(st.dir, `${c.spec.id}.Corefile`);
  const zoneFile = join(st.dir, `${c.spec.id}.cluster.local.zone`);
  c.dns = { ns: d.ns, ip: d.ip, zoneFile, serial: 1 };
  lab.save();
  writeFileSync(zoneFile, clusterZone(c.spec, c.services ?? [], d.ip, c.dns.serial));
  writeFileSync(corefile, labCorefile(zoneFile, lighthouse.lanIp));
  const [binary] = await Promise.all([coreDnsBinary(), buildDnsPod(lab.run, c.spec, d)]);
  c.processes.push(startIn(d.ns, "coredns", [binary, "-conf", corefile], join(st.dir, `${c.spec.id}-coredns.log`)));
  for (const n of c.spec.nodes) for (const p of n.pods) writePodResolvConf(p.ns, d.ip);
}

/** Standalone: the cluster's cluster.local zone again, with a new serial (CoreDNS reloads it). */
export function writeZone(lab: LabCore, c: LabCluster): void {
  if (!c.dns) return;
  c.dns.serial++;
  writeFileSync(c.dns.zoneFile, clusterZone(c.spec, c.services ?? [], c.dns.ip, c.dns.serial));
  lab.save();
}
