import { exportName, type ServiceExport } from "@causeway/api";
import { type ExportRecord, exportsByService, kube, type Logger, ReconcileLoop, sameValue, type SiteComponent, view } from "@causeway/common";
import { type BrokerConnection } from "@causeway/common/broker-client";
import { ClustersetIndex, withClustersetIp } from "../imports/clustersetip.ts";
import { assignGlobalIps, GlobalIpQuarantine } from "../imports/globalip.ts";
import type { BrokerDnsSource } from "../imports/source.ts";
import {
  type Condition,
  decideExport,
  EndpointSliceObjectSchema,
  IMPORT_MANAGED_LABEL,
  IMPORT_MANAGER,
  importObjects,
  MANAGED_BY_LABEL,
  mergePorts,
  NamespaceObjectSchema,
  type NewCondition,
  sameConditions,
  ServiceExportObjectSchema,
  ServiceObjectSchema,
  SLICE_MANAGER,
  withTransitions,
} from "./model.ts";
import pMap from "p-map";
import { z } from "zod";
import { foreignImportEvent, isOurImport } from "./foreign.ts";

/** The Lease lighthouse agents of one cluster compete for: one writes exports, imports and conditions; every one serves DNS. */
export const LIGHTHOUSE_LEASE = "causeway-lighthouse-lock";
const FIELD_MANAGER = "causeway-lighthouse";
const SERVICE_SLICE_LABEL = "kubernetes.io/service-name";

/** API and broker writes of one pass in flight at once (services are independent; the API server's default per-client QPS is not ours to exhaust). */
const WRITE_CONCURRENCY = 16;

const ImportObjectSchema = z.looseObject({
  metadata: z.looseObject({
    name: z.string(),
    namespace: z.string().optional(),
    uid: z.string().optional(),
    labels: z.record(z.string(), z.string()).optional(),
  }),
});

export interface KubeLighthouseDeps {
  readonly client: kube.KubeClient;
  /** Causeway's namespace (the Lease). */
  readonly namespace: string;
  readonly clusterId: string;
  readonly identity: string;
  readonly conn: BrokerConnection;
  readonly source: BrokerDnsSource;
  readonly log: Logger;
  readonly resyncMs: number;
  readonly election?: { leaseDurationMs: number; renewDeadlineMs: number; retryPeriodMs: number };
}

/**
 * Kubernetes mode's service-discovery agent (reference mcs-api §0.2, submariner §8.1): while it
 * holds the cluster's lighthouse Lease it turns ServiceExports of local Services into exports at
 * the broker (owned by this cluster) and reports Valid / Ready / Conflict on them, and keeps a
 * ServiceImport plus one MCS EndpointSlice per exporting cluster in every namespace that has the
 * service, from all clusters' exports. Passes run on any change and every resync period; each
 * object is written only when it differs from what was last written.
 */
export class KubeLighthouseAgent implements SiteComponent {
  readonly #d: KubeLighthouseDeps;
  readonly #exports: view.KubeListView<typeof ServiceExportObjectSchema>;
  readonly #services: view.KubeListView<typeof ServiceObjectSchema>;
  readonly #slices: view.KubeListView<typeof EndpointSliceObjectSchema>;
  readonly #namespaces: view.KubeListView<typeof NamespaceObjectSchema>;
  readonly #imports: kube.KubeWatcher<typeof ImportObjectSchema>;
  readonly #ourSlices: kube.KubeWatcher<typeof ImportObjectSchema>;
  readonly #elector: kube.LeaseElector;
  readonly #written = new Map<string, string>();
  /** Global addresses given back, held back from other services a while (globalip.ts). */
  readonly #quarantine = new GlobalIpQuarantine();
  #leading = false;
  /**
   * Three reconcile loops (coalesced passes, one at a time each, retried with backoff, a full pass
   * every resync period): this cluster's exports to the broker, their ServiceExports' conditions,
   * and all clusters' imports into this cluster. Apart, a burst of conditions or imports to write
   * never holds up an export (and the reverse).
   */
  readonly #exportLoop: ReconcileLoop;
  readonly #conditionLoop: ReconcileLoop;
  readonly #importLoop: ReconcileLoop;
  /** Passes completed while leading, of either loop (tests, readiness). */
  passes = 0;

  constructor(d: KubeLighthouseDeps) {
    this.#d = d;
    const { client, log } = d;
    this.#exportLoop = new ReconcileLoop({ name: "service-exports", run: () => this.#pass(() => this.#syncExports()), log, resyncMs: d.resyncMs });
    this.#conditionLoop = new ReconcileLoop({
      name: "service-export-conditions",
      run: () => this.#pass(() => this.#syncConditions()),
      log,
      resyncMs: d.resyncMs,
    });
    this.#importLoop = new ReconcileLoop({ name: "service-imports", run: () => this.#pass(() => this.#syncImports()), log, resyncMs: d.resyncMs });
    this.#exports = new view.KubeListView(client, kube.R.serviceExport, undefined, ServiceExportObjectSchema, log);
    this.#services = new view.KubeListView(client, kube.R.service, undefined, ServiceObjectSchema, log);
    this.#slices = new view.KubeListView(client, kube.R.endpointSlice, undefined, EndpointSliceObjectSchema, log);
    this.#namespaces = new view.KubeListView(client, kube.R.namespace, undefined, NamespaceObjectSchema, log);
    const kick = () => this.kick();
    // Every ServiceImport: Causeway's own, and others' it must not write over (foreign.ts).
    this.#imports = new kube.KubeWatcher({
      client,
      type: kube.R.serviceImport,
      schema: ImportObjectSchema,
      log,
      onChange: kick,
    });
    this.#ourSlices = new kube.KubeWatcher({
      client,
      type: kube.R.endpointSlice,
      labelSelector: `${MANAGED_BY_LABEL}=${SLICE_MANAGER}`,
      schema: ImportObjectSchema,
      log,
      onChange: kick,
    });
    this.#elector = new kube.LeaseElector({
      client,
      namespace: d.namespace,
      name: LIGHTHOUSE_LEASE,
      identity: d.identity,
      ...(d.election ?? { leaseDurationMs: 5000, renewDeadlineMs: 3500, retryPeriodMs: 1000 }),
      log,
      onStartedLeading: () => {
        this.#leading = true;
        this.#written.clear(); // another agent may have written since: compare afresh
        this.kick();
      },
      onStoppedLeading: () => {
        this.#leading = false;
      },
    });
  }

  start(): void {
    const kick = () => this.kick();
    for (const v of [this.#exports, this.#services, this.#slices, this.#namespaces]) v.start(kick);
    this.#imports.start();
    this.#ourSlices.start();
    this.#d.source.start(kick);
    this.#elector.start();
    for (const l of this.#loops()) l.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.#loops().map((l) => l.stop()));
    for (const v of [this.#exports, this.#services, this.#slices, this.#namespaces]) v.stop();
    this.#imports.stop();
    this.#ourSlices.stop();
    this.#d.source.stop();
    await this.#elector.stop();
  }

  /** Uninstall: this cluster's exports leave the broker; the imports and slices it made go. */
  async uninstall(): Promise<void> {
    const { records } = await this.#d.conn.list("export");
    for (const r of records.filter((x) => x.clusterId === this.#d.clusterId)) await this.#d.conn.delete("export", this.#d.clusterId, r.name);
    const imports = await this.#d.client.list<{ metadata: kube.ObjectMeta }>(kube.R.serviceImport, undefined, {
      labelSelector: `${IMPORT_MANAGED_LABEL}=${IMPORT_MANAGER}`,
    });
    for (const o of imports.items) await this.#d.client.delete(kube.R.serviceImport, o.metadata.namespace, o.metadata.name);
    const slices = await this.#d.client.list<{ metadata: kube.ObjectMeta }>(kube.R.endpointSlice, undefined, {
      labelSelector: `${MANAGED_BY_LABEL}=${SLICE_MANAGER}`,
    });
    for (const o of slices.items) await this.#d.client.delete(kube.R.endpointSlice, o.metadata.namespace, o.metadata.name);
  }

  ready(): string | undefined {
    if (!this.#d.source.isSynced) return "broker exports not loaded yet";
    return undefined;
  }

  get leading(): boolean {
    return this.#leading;
  }

  /** Asks for a pass while leading (coalesced by the reconcile loop: one runs at a time, a failed one is retried with backoff). */
  kick(): void {
    if (!this.#leading) return;
    for (const l of this.#loops()) l.trigger();
  }

  #synced(): boolean {
    return (
      [this.#exports, this.#services, this.#slices, this.#namespaces].every((v) => v.isSynced) &&
      this.#imports.health.synced &&
      this.#ourSlices.health.synced &&
      this.#d.source.isSynced
    );
  }

  #loops(): ReconcileLoop[] {
    return [this.#exportLoop, this.#conditionLoop, this.#importLoop];
  }

  /** One pass of a loop (a no-op unless leading with every view loaded). */
  async #pass(sync: () => Promise<void>): Promise<void> {
    await Promise.resolve();
    if (!this.#leading || !this.#synced()) return;
    await sync();
    this.passes++;
  }

  /** ServiceExports → this cluster's exports at the broker, and their conditions. */
  /** What this cluster's ServiceExports make of their Services: each one's decision, the exports wanted at the broker, and those there now. */
  #decisions() {
    const { clusterId, source } = this.#d;
    const slicesBySvc = new Map<string, z.infer<typeof EndpointSliceObjectSchema>[]>();
    for (const s of this.#slices.objects()) {
      const svc = s.metadata.labels?.[SERVICE_SLICE_LABEL];
      if (!svc) continue;
      const key = `${s.metadata.namespace}/${svc}`;
      slicesBySvc.set(key, [...(slicesBySvc.get(key) ?? []), s]);
    }
    const services = new Map(this.#services.objects().map((s) => [`${s.metadata.namespace}/${s.metadata.name}`, s]));
    const atBroker = new Map(source.exportsOf(clusterId).map((e) => [exportName(e.namespace, e.name), e]));
    const index = new ClustersetIndex(source.exportRecords());
    const block = source.clustersetBlock(clusterId);
    const wanted = new Map<string, ServiceExport>();
    const decisions = this.#exports.objects().map((se) => {
      const key = `${se.metadata.namespace}/${se.metadata.name}`;
      const d = decideExport(se, services.get(key), slicesBySvc.get(key) ?? []);
      if (d.record) {
        const record = withClustersetIp(clusterId, d.record, index, block);
        index.set(clusterId, record);
        wanted.set(exportName(d.record.namespace, d.record.name), record);
      }
      return { se, d };
    });
    this.#quarantine.see([...atBroker.values()]);
    const desired = assignGlobalIps(wanted, atBroker, source.globalCidr(clusterId), this.#quarantine);
    return { decisions, desired, atBroker };
  }

  /** ServiceExports → this cluster's exports at the broker. */
  async #syncExports(): Promise<void> {
    const { clusterId, conn } = this.#d;
    const { desired, atBroker } = this.#decisions();
    const changed = [...desired].filter(([name, record]) => {
      const had = atBroker.get(name);
      return !had || !sameValue(had, record);
    });
    await pMap(
      changed,
      async ([name, record]) => {
        await conn.put("export", clusterId, name, record);
        this.#d.log.info(
          { service: name, endpoints: record.endpoints.length },
          atBroker.has(name) ? "export updated at the broker" : "service exported to the broker",
        );
      },
      { concurrency: WRITE_CONCURRENCY },
    );
    await pMap(
      [...atBroker.keys()].filter((name) => !desired.has(name)),
      async (name) => {
        await conn.delete("export", clusterId, name);
        this.#d.log.info({ service: name }, "export withdrawn from the broker");
      },
      { concurrency: WRITE_CONCURRENCY },
    );
  }

  /** The ServiceExports' conditions: Valid, Ready once the export is at the broker, Conflict. */
  async #syncConditions(): Promise<void> {
    const { decisions, atBroker } = this.#decisions();
    const conflicts = this.#conflicts();
    await pMap(
      decisions,
      async ({ se, d }) => {
        const key = `${se.metadata.namespace}/${se.metadata.name}`;
        const there = d.record && atBroker.has(exportName(d.record.namespace, d.record.name));
        const ready: NewCondition = there
          ? { type: "Ready", status: "True", reason: "Exported", message: "Service was exported to the broker" }
          : d.record
            ? { type: "Ready", status: "False", reason: "Pending", message: "the export is being written to the broker" }
            : { type: "Ready", status: "False", reason: d.valid.reason ?? "NotValid", message: "the Service is not exported" };
        const conflict = conflicts.get(key);
        const conditions: NewCondition[] = [
          d.valid,
          ready,
          conflict
            ? { type: "Conflict", status: "True", reason: conflict.reason, message: conflict.message }
            : { type: "Conflict", status: "False", reason: "NoConflicts", message: "no conflict with other clusters' exports" },
        ];
        await this.#writeConditions(se, conditions);
      },
      { concurrency: WRITE_CONCURRENCY },
    );
  }

  /**
   * This cluster's conflicts by namespace/name (MCS: every export involved gets the condition):
   * type — exports of another type than the oldest are left out of the import; ports — a port
   * name taken with another number or protocol, the oldest export's wins.
   */
  #conflicts(): Map<string, { reason: string; message: string }> {
    const out = new Map<string, { reason: string; message: string }>();
    const { clusterId, source } = this.#d;
    const all = exportsByService(source.usableExportRecords());
    for (const c of source.conflicts) {
      const key = `${c.namespace}/${c.name}`;
      const members = all.get(key) ?? [];
      if (!members.some((m) => m.clusterId === clusterId)) continue;
      const mine = c.clusterId === clusterId;
      const message = mine ? c.reason : `cluster ${c.clusterId} exports it as another type; this cluster's export is the oldest of its type and wins`;
      if (mine || !out.has(key)) out.set(key, { reason: "ConflictingType", message });
    }
    for (const [key, members] of groups(source.usableExportRecords())) {
      if (out.has(key) || !members.some((m) => m.clusterId === clusterId)) continue;
      const { conflicting } = mergePorts(members);
      if (conflicting.size > 0) {
        out.set(key, {
          reason: "ConflictingPorts",
          message: `port definitions differ between clusters (${[...conflicting].join(", ")} conflict with older exports); the oldest export's ports win`,
        });
      }
    }
    return out;
  }

  async #writeConditions(se: z.infer<typeof ServiceExportObjectSchema>, next: NewCondition[]): Promise<void> {
    const prev = se.status?.conditions;
    const conditions: Condition[] = withTransitions(next, prev, new Date().toISOString());
    if (sameConditions(prev, conditions)) return;
    const { name, namespace } = se.metadata;
    await this.#d.client.apply(
      kube.R.serviceExport,
      { metadata: { name, namespace }, ...{ status: { conditions } } },
      { fieldManager: FIELD_MANAGER, sub: "status" },
    );
  }

  /** All clusters' exports → ServiceImports and MCS EndpointSlices in the namespaces that exist here. */
  async #syncImports(): Promise<void> {
    const { client } = this.#d;
    const namespaces = new Set(this.#namespaces.objects().map((n) => n.metadata.name));
    const wantImports = new Set<string>();
    const wantSlices = new Set<string>();
    const here = [...groups(this.#d.source.usableExportRecords())].filter(([key]) => namespaces.has(key.split("/")[0] ?? ""));
    // Services are independent: written side by side (a burst of exports is one pass, not one round trip after another).
    await pMap(
      here,
      async ([key, members]) => {
        const [namespace = "", name = ""] = key.split("/");
        const existing = this.#imports.get(namespace, name);
        if (existing && !isOurImport(existing)) {
          await this.#foreign(existing, members);
          return;
        }
        const slices = await this.#writeImport(namespace, name, members);
        if (!slices) return;
        wantImports.add(key);
        for (const n of slices) wantSlices.add(`${namespace}/${n}`);
      },
      { concurrency: WRITE_CONCURRENCY },
    );
    const goneImports = this.#imports.items().filter((o) => isOurImport(o) && !wantImports.has(`${o.metadata.namespace}/${o.metadata.name}`));
    await pMap(
      goneImports,
      async (o) => {
        const key = `${o.metadata.namespace}/${o.metadata.name}`;
        await client.delete(kube.R.serviceImport, o.metadata.namespace, o.metadata.name);
        this.#written.delete(`import/${key}`);
        this.#written.delete(`import-status/${key}`);
        this.#d.log.info({ service: key }, "ServiceImport removed: no cluster exports it any more");
      },
      { concurrency: WRITE_CONCURRENCY },
    );
    const goneSlices = this.#ourSlices.items().filter((o) => !wantSlices.has(`${o.metadata.namespace}/${o.metadata.name}`));
    await pMap(
      goneSlices,
      async (o) => {
        await client.delete(kube.R.endpointSlice, o.metadata.namespace, o.metadata.name);
        this.#written.delete(`slice/${o.metadata.namespace}/${o.metadata.name}`);
      },
      { concurrency: WRITE_CONCURRENCY },
    );
  }

  /** A foreign ServiceImport where an import would go: left alone; one Warning Event per object (and log line) says so. */
  async #foreign(o: z.infer<typeof ImportObjectSchema>, members: readonly ExportRecord[]): Promise<void> {
    const key = `${o.metadata.namespace}/${o.metadata.name}`;
    const memo = `foreign/${key}`;
    const uid = o.metadata.uid ?? "";
    if (this.#written.get(memo) === uid) return;
    const event = foreignImportEvent(o, [...new Set(members.map((m) => m.clusterId))].sort(), this.#d.identity, new Date());
    this.#d.log.warn({ service: key }, event.message);
    await this.#d.client.request("POST", kube.resourcePath(kube.R.event, o.metadata.namespace), { body: event });
    this.#written.set(memo, uid);
  }

  /** One import's ServiceImport (spec, status) and MCS EndpointSlices; the slices' names, or undefined when there is nothing to import. */
  async #writeImport(namespace: string, name: string, members: readonly ExportRecord[]): Promise<string[] | undefined> {
    const key = `${namespace}/${name}`;
    const objs = importObjects(namespace, name, members);
    if (!objs) return undefined;
    if (!this.#imports.get(namespace, name)) {
      // Not there (deleted by someone, or a foreign one went): write it afresh, whatever was written before.
      this.#written.delete(`import/${key}`);
      this.#written.delete(`import-status/${key}`);
    }
    const applied = await this.#apply(kube.R.serviceImport, `import/${key}`, objs.serviceImport);
    await this.#apply(kube.R.serviceImport, `import-status/${key}`, { metadata: { name, namespace }, status: objs.status }, "status");
    // The slices name their ServiceImport as owner (MCS API): its uid from this write, else from the watch.
    const uid = applied?.metadata?.uid ?? this.#imports.items().find((o) => o.metadata.namespace === namespace && o.metadata.name === name)?.metadata.uid;
    const slices = importObjects(namespace, name, members, uid)?.slices ?? [];
    for (const slice of slices) await this.#apply(kube.R.endpointSlice, `slice/${namespace}/${slice.metadata.name}`, slice);
    return slices.map((x) => x.metadata.name);
  }

  async #apply(
    rt: kube.ResourceType,
    memo: string,
    obj: { metadata: { name: string; namespace?: string } } & Record<string, unknown>,
    sub?: string,
  ): Promise<{ metadata?: { uid?: string } } | undefined> {
    const body = JSON.stringify(obj);
    if (this.#written.get(memo) === body) return undefined;
    const applied = await this.#d.client.apply<{ metadata?: { uid?: string } }>(rt, obj, { fieldManager: FIELD_MANAGER, ...(sub ? { sub } : {}) });
    this.#written.set(memo, body);
    return applied;
  }
}

/** Pure: available exports by namespace/name, each group the exports of the oldest export's type, oldest first. */
export function groups(records: readonly ExportRecord[]): Map<string, ExportRecord[]> {
  const out = exportsByService(records);
  for (const [key, list] of out)
    out.set(
      key,
      list.filter((r) => r.value.type === list[0]?.value.type),
    );
  return out;
}
