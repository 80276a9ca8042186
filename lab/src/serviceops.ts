import { join } from "node:path";
import { ValidationError } from "@causeway/api";
import { kube } from "@causeway/common";
import { writeSiteFile } from "./clusters.ts";
import { writeZone } from "./clusterdns.ts";
import { removePodResolvConfs, writePodResolvConf } from "./dns.ts";
import { scaleServicePods } from "./realnodes.ts";
import { destroyNamespaces, startIn, stopProcess } from "./processes.ts";
import { addPodNetworks, applyServiceRules, type LabService, MAX_SERVICE_PODS, nextVip, parseServiceRef, planPods } from "./services.ts";
import { type LabCluster, type LabCore, script } from "./state.ts";

function checkPods(pods: number, given: unknown = pods): void {
  if (!Number.isInteger(pods) || pods < 0 || pods > MAX_SERVICE_PODS) throw new ValidationError(`--pods must be 0..${MAX_SERVICE_PODS}, got ${String(given)}`);
}

/**
 * `lab service add <cluster>/<ns>/<name>`: a service backed by `pods` new pods (each its own
 * namespace behind a node, running the lab web server on `port`, answering "<cluster>/<pod>");
 * ClusterSetIP gets a VIP DNATed on every node, headless none. Standalone: listed in the site
 * file (the lighthouse re-reads it). Kubernetes tier: Pods the kubelets run and a Service
 * selecting them (kube-proxy serves its VIP), lab/src/labpods.ts.
 */
export async function addService(lab: LabCore, ref: string, o: { pods?: number; port?: number; headless?: boolean } = {}): Promise<LabService> {
  const { cluster, namespace, name } = parseServiceRef(ref);
  const c = lab.cluster(cluster);
  const pods = o.pods ?? 1;
  checkPods(pods, o.pods);
  const port = o.port ?? 80;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new ValidationError(`--port must be 1..65535, got ${o.port}`);
  const services = (c.services ??= []);
  if (services.some((s) => s.namespace === namespace && s.name === name) || c.spec.services.some((s) => s.namespace === namespace && s.name === name)) {
    throw new ValidationError(`service ${namespace}/${name} already exists in ${cluster}; change its pods with 'causeway lab service scale ${ref} --pods N'`);
  }
  const vip = o.headless ? undefined : nextVip(c.spec, services);
  const svc: LabService = {
    namespace,
    name,
    headless: o.headless === true,
    port,
    pods: [],
    ...(vip ? { vip, chain: `LAB-SVC-${vip.split(".")[3]}` } : {}),
  };
  services.push(svc);
  lab.save();
  await scale(lab, c, svc, pods, true);
  return svc;
}

/** `lab service scale <cluster>/<ns>/<name> --pods N`: adds or removes pods (newest first). */
export async function scaleService(lab: LabCore, ref: string, pods: number): Promise<LabService> {
  const { cluster, namespace, name } = parseServiceRef(ref);
  const c = lab.cluster(cluster);
  checkPods(pods);
  const svc = c.services?.find((s) => s.namespace === namespace && s.name === name);
  if (!svc) {
    const known = (c.services ?? []).map((s) => `${cluster}/${s.namespace}/${s.name}`).join(", ") || "none";
    throw new ValidationError(`no lab service ${ref} (made with 'causeway lab service add'; services: ${known})`);
  }
  await scale(lab, c, svc, pods, false);
  return svc;
}

/** `lab service delete`: its pods, DNAT rules and listing go (a ServiceExport of it stays, as in Kubernetes). */
export async function removeService(lab: LabCore, ref: string): Promise<void> {
  const { cluster, namespace, name } = parseServiceRef(ref);
  const c = lab.cluster(cluster);
  const svc = c.services?.find((s) => s.namespace === namespace && s.name === name);
  if (!svc) throw new ValidationError(`no lab service ${ref}`);
  await scale(lab, c, svc, 0, false);
  c.services = (c.services ?? []).filter((s) => s !== svc);
  lab.save();
  if (lab.state.kube) {
    const client = await lab.kubeClient(cluster);
    try {
      await client.delete(kube.R.service, namespace, name);
    } finally {
      client.close();
    }
  } else {
    writeSiteFile(lab.state, c);
  }
  writeZone(lab, c);
}

async function scale(lab: LabCore, c: LabCluster, svc: LabService, pods: number, created: boolean): Promise<void> {
  if (lab.state.kube) return scaleOnNodes(lab, c, svc, pods);
  const st = lab.state;
  const services = c.services ?? [];
  if (pods > svc.pods.length) {
    const fresh = planPods(c.spec, services, svc, pods - svc.pods.length, st.name);
    await addPodNetworks(lab.run, c.spec, fresh);
    for (const p of fresh) {
      c.processes.push(
        startIn(
          p.ns,
          `svc/${svc.namespace}/${p.name}`,
          [st.nodeBin, script("lab/src/tools/web.ts"), "--port", String(svc.port), "--name", `${c.spec.id}/${p.name}`],
          join(st.dir, `${c.spec.id}-svc-${svc.namespace}-${p.name}.log`),
        ),
      );
    }
    svc.pods = [...svc.pods, ...fresh];
  }
  for (const p of svc.pods) if (c.dns) writePodResolvConf(p.ns, c.dns.ip);
  const gone = svc.pods.slice(pods);
  svc.pods = svc.pods.slice(0, pods);
  await applyServiceRules(lab.run, c.spec, svc, created);
  for (const p of gone) {
    const proc = c.processes.find((x) => x.ns === p.ns);
    if (proc) {
      await stopProcess(proc.pid, 1000);
      c.processes.splice(c.processes.indexOf(proc), 1);
    }
  }
  await destroyNamespaces(
    lab.run,
    gone.map((p) => p.ns),
  );
  removePodResolvConfs(gone.map((p) => p.ns));
  lab.save();
  publishService(lab, c);
}

/** Real nodes: the service's pods are Pods the kubelets run, its Service selects them (lab/src/labpods.ts). */
async function scaleOnNodes(lab: LabCore, c: LabCluster, svc: LabService, pods: number): Promise<void> {
  const fresh = pods > svc.pods.length ? planPods(c.spec, c.services ?? [], svc, pods - svc.pods.length, lab.state.name) : [];
  const client = await lab.kubeClient(c.spec.id);
  try {
    const made = await scaleServicePods(client, c.spec.id, svc, fresh, svc.pods.slice(pods));
    svc.pods = [...svc.pods.slice(0, pods), ...made];
  } finally {
    client.close();
  }
  lab.save();
}

/** Standalone: tells the cluster about a service's pods (the site file the lighthouse re-reads, the cluster.local zone). */
function publishService(lab: LabCore, c: LabCluster): void {
  writeZone(lab, c);
  writeSiteFile(lab.state, c);
}
