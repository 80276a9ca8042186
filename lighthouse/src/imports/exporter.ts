import { statSync } from "node:fs";
import { connect } from "node:net";
import { errorMessage, exportName, type ServiceExport } from "@causeway/api";
import { type ExportRecord, exportOf, type Logger, loadSite, sameValue, type SiteService, unlistedExport } from "@causeway/common";
import { ClustersetIndex, withClustersetIp } from "./clustersetip.ts";
import { GlobalIpQuarantine, globalIpsFor, HeldGlobalIps } from "./globalip.ts";

/**
 * The site file's services, re-read when the file changes (checked on each call by its
 * modification time), so services added to a running site are exported without a restart. A
 * file that no longer loads keeps the last good list and is logged once per change.
 */
export function siteServices(path: string, initial: readonly SiteService[], log: Logger): () => readonly SiteService[] {
  let services = initial;
  let seen = mtimeOf(path);
  return () => {
    const now = mtimeOf(path);
    if (now === seen) return services;
    seen = now;
    try {
      services = loadSite(path).services;
      log.info({ site: path, services: services.length }, "site file changed: services re-read");
    } catch (err) {
      log.error({ site: path, err: errorMessage(err) }, "site file changed but does not load; keeping its last good services");
    }
    return services;
  };
}

function mtimeOf(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return -1;
  }
}

/** Whether something accepts TCP connections at ip:port within `timeoutMs`. */
export function tcpOpen(ip: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: ip, port, timeout: timeoutMs });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.once("connect", () => done(true));
    s.once("timeout", () => done(false));
    s.once("error", () => done(false));
  });
}

export interface ServiceExporterDeps {
  readonly clusterId: string;
  /** The site's services now. */
  readonly services: () => readonly SiteService[];
  /** This cluster's exports at the broker now. */
  readonly exported: () => readonly ServiceExport[];
  /** Every cluster's exports at the broker now, and this cluster's clusterset IP block (clusterset IPs). */
  readonly clusterset?: { readonly all: () => readonly ExportRecord[]; readonly block: () => string | undefined };
  /** Globalnet: this cluster's global CIDR now (exports get global IPs from it). */
  readonly globalCidr?: () => string | undefined;
  readonly put: (name: string, value: ServiceExport) => Promise<unknown>;
  readonly log: Logger;
  readonly intervalMs?: number;
  readonly probe?: (ip: string, port: number) => Promise<boolean>;
}

/**
 * Standalone mode's export keeper: for each service this cluster exports (`causeway export
 * service` made the record), probes its endpoints (a TCP connect to each TCP target port; an
 * endpoint is ready when all answer) and rewrites the export when readiness or the site's
 * definition changed — what lets other clusters, and this one's DNS, move away from a
 * service whose pods are down. An export whose service is not in the site file (exported
 * before its service) is kept, marked unavailable, imported nowhere, and logged; once the site
 * file lists the service (re-read on change) it is exported in full.
 */
export class ServiceExporter {
  readonly #d: ServiceExporterDeps;
  #timer: NodeJS.Timeout | undefined;
  #stopped = true;
  readonly #missing = new Set<string>();
  /** Global addresses given back, held back from other services a while (globalip.ts). */
  readonly quarantine = new GlobalIpQuarantine();
  /** Passes completed (readiness). */
  passes = 0;

  constructor(d: ServiceExporterDeps) {
    this.#d = d;
  }

  start(): void {
    this.#stopped = false;
    const loop = () => {
      if (this.#stopped) return;
      void this.tick()
        .catch((err: unknown) => this.#d.log.warn({ err: errorMessage(err) }, "export readiness pass failed"))
        .finally(() => {
          if (!this.#stopped) this.#timer = setTimeout(loop, this.#d.intervalMs ?? 1000);
        });
    };
    loop();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
  }

  async #readiness(svc: SiteService): Promise<Set<string>> {
    const probe = this.#d.probe ?? tcpOpen;
    const tcp = svc.ports.filter((p) => p.protocol === "TCP").map((p) => p.targetPort ?? p.port);
    const ready = new Set<string>();
    await Promise.all(
      svc.endpoints.map(async (e) => {
        const ok = (await Promise.all(tcp.map((port) => probe(e.ip, port)))).every(Boolean);
        if (ok) ready.add(e.ip);
      }),
    );
    return ready;
  }

  /** One pass: probe the exported services' endpoints, rewrite exports that changed. */
  async tick(): Promise<void> {
    const exported = this.#d.exported();
    this.quarantine.see(exported);
    // Each export's allocation sees the others' addresses, this pass's new ones included.
    const held = new HeldGlobalIps(exported);
    const cs = this.#d.clusterset;
    const index = cs ? new ClustersetIndex(cs.all()) : undefined;
    for (const current of exported) {
      const key = `${current.namespace}/${current.name}`;
      const svc = this.#d.services().find((s) => s.namespace === current.namespace && s.name === current.name);
      if (!svc) {
        if (!this.#missing.has(key)) this.#d.log.warn({ service: key }, "exported service is not in the site file: imported nowhere until it is added");
        this.#missing.add(key);
      } else this.#missing.delete(key);
      const ready = svc ? await this.#readiness(svc) : new Set<string>();
      const built = svc ? exportOf(svc, (ip) => ready.has(ip), current.exportedAt) : unlistedExport(current);
      const withCs = cs && index && !built.unavailable ? withClustersetIp(this.#d.clusterId, built, index, cs.block()) : built;
      index?.set(this.#d.clusterId, withCs);
      const next = held.reassign(current, (taken) => globalIpsFor(withCs, current, taken, this.#d.globalCidr?.(), this.quarantine));
      if (!sameValue(next, current)) {
        await this.#d.put(exportName(current.namespace, current.name), next);
        const up = next.endpoints.filter((e) => e.ready).length;
        this.#d.log.info({ service: key, ready: up, endpoints: next.endpoints.length }, "export updated");
      }
    }
    this.passes++;
  }
}
