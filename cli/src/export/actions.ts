import { exportName, parseValue, ValidationError } from "@causeway/api";
import { exportOf, loadSite, readToken, type Site, unlistedExport } from "@causeway/common";
import { BrokerConnection, siteBrokerConnection } from "@causeway/common/broker-client";
import { type Lab, openLab } from "../labs.ts";
import { exportInKube, kubeClientFor, unexportInKube } from "./kube.ts";

export interface Target {
  readonly namespace: string;
  readonly site?: string;
  readonly lab?: string;
  readonly context?: string;
  readonly kubeconfig?: string;
}

/** Kubernetes mode when --kubeconfig is given, or the lab cluster has an API server: the ServiceExport object. */
async function kubeTarget(o: Target): Promise<{ lab?: Lab } | undefined> {
  if (o.site) return undefined;
  if (o.kubeconfig) return {};
  if (!o.context) return undefined;
  const lab = await openLab(o.lab);
  return lab.state.kube ? { lab } : undefined;
}

/** The site file and a broker connection with its cluster's credential: --site, or a lab cluster (--lab, --context). */
async function siteOf(o: Target): Promise<{ site: Site; file: string; conn: BrokerConnection }> {
  if (o.site) {
    const site = loadSite(o.site);
    return { site, file: o.site, conn: siteBrokerConnection(site.broker) };
  }
  if (!o.context) throw new ValidationError("say which cluster: --site <site.yaml>, or --context <cluster> for a lab cluster");
  const lab = await openLab(o.lab);
  const c = lab.cluster(o.context);
  const site = loadSite(c.siteFile);
  // From the host the lab's broker is on its socket; the cluster's own credential writes its exports.
  return { site, file: c.siteFile, conn: new BrokerConnection({ address: lab.state.broker.socket, token: readToken(c.tokenFile) }) };
}

/** `causeway export service`: a ServiceExport (Kubernetes mode) or the export record (standalone: the service is in the site file). */
export async function exportService(name: string, o: Target): Promise<void> {
  {
    const k = await kubeTarget(o);
    if (k) {
      const client = await kubeClientFor(o, k.lab);
      try {
        if (!(await exportInKube(client, o.namespace, name))) process.exitCode = 2;
      } finally {
        client.close();
      }
      return;
    }
    const { site, file, conn } = await siteOf(o);
    try {
      const svc = site.services.find((s) => s.namespace === o.namespace && s.name === name);
      const key = exportName(o.namespace, name);
      const existing = (await conn.list("export")).records.find((r) => r.clusterId === site.clusterId && r.name === key);
      const exportedAt = existing ? parseValue("export", existing.valueJson).exportedAt : new Date().toISOString();
      // Endpoints start ready; the cluster's lighthouse probes them within a second. A service the
      // site does not list yet is exported as unavailable (MCS: a ServiceExport may come before its Service).
      await conn.put(
        "export",
        site.clusterId,
        key,
        svc ? exportOf(svc, () => true, exportedAt) : unlistedExport({ namespace: o.namespace, name, type: "ClusterSetIP", exportedAt }),
      );
      const verb = existing ? "re-exported" : "exported";
      if (svc) console.log(` ✓ ${verb} ${o.namespace}/${name} from ${site.clusterId}: ${name}.${o.namespace}.svc.clusterset.local`);
      else {
        const known = site.services.map((s) => `${s.namespace}/${s.name}`).join(", ") || "none";
        console.log(` ⚠ ${verb} ${o.namespace}/${name} from ${site.clusterId}, but ${file} has no such service (services: ${known})`);
        console.log(
          `   It resolves as ${name}.${o.namespace}.svc.clusterset.local once the site file lists it; 'causeway unexport service ${name} -n ${o.namespace}' takes it back.`,
        );
      }
    } finally {
      conn.close();
    }
  }
}

/** `causeway unexport service`. */
export async function unexportService(name: string, o: Target): Promise<void> {
  {
    const k = await kubeTarget(o);
    if (k) {
      const client = await kubeClientFor(o, k.lab);
      try {
        const had = await unexportInKube(client, o.namespace, name);
        console.log(
          had ? ` ✓ ServiceExport ${o.namespace}/${name} deleted: no longer exported from this cluster` : ` ✓ ${o.namespace}/${name} was not exported`,
        );
      } finally {
        client.close();
      }
      return;
    }
    const { site, conn } = await siteOf(o);
    try {
      await conn.delete("export", site.clusterId, exportName(o.namespace, name));
      console.log(` ✓ ${o.namespace}/${name} is no longer exported from ${site.clusterId}`);
    } finally {
      conn.close();
    }
  }
}
