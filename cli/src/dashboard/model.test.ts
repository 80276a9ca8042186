import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { GatewayStatus, ServiceExport, WireRecord } from "@causeway/api";
import { changes, dashboardState, STALE_STATUS_MS } from "./model.ts";

const DATA = join(import.meta.dirname, "../show/testdata");
/** Records of a 2-cluster VXLAN lab as the broker listed them (the `show` tests' own). */
const LAB = JSON.parse(readFileSync(join(DATA, "records.json"), "utf8")) as WireRecord[];
const statusOf = (r: WireRecord) => JSON.parse(r.valueJson) as GatewayStatus;
/** When the lab's gateway statuses were written, plus `ms`. */
const at = (ms = 0) => Math.max(...LAB.filter((r) => r.kind === "gateway").map((r) => Date.parse(statusOf(r).updatedAt))) + ms;
const rec = (kind: string, clusterId: string, name: string, value: unknown): WireRecord => ({
  kind,
  clusterId,
  name,
  valueJson: JSON.stringify(value),
  revision: 1,
  createRevision: 1,
});
const exp = (ns: string, name: string, o: Partial<ServiceExport> & { ready: number; notReady?: number }): ServiceExport => ({
  namespace: ns,
  name,
  type: o.type ?? "ClusterSetIP",
  ip: "10.101.0.9",
  ports: [{ protocol: "TCP", port: 80 }],
  endpoints: [
    ...Array.from({ length: o.ready }, (_, i) => ({ ip: `10.1.0.${10 + i}`, ready: true })),
    ...Array.from({ length: o.notReady ?? 0 }, (_, i) => ({ ip: `10.1.1.${10 + i}`, ready: false })),
  ],
  exportedAt: o.exportedAt ?? "2026-12-01T00:00:00Z",
  ...(o.clustersetIp ? { clustersetIp: o.clustersetIp } : {}),
});

describe("dashboard state (from the broker's records)", () => {
  it("a 2-cluster lab: both clusters with their CIDRs, each one active gateway, the cable each reports, connected, with its round trip", () => {
    const s = dashboardState(LAB, at(1000));
    assert.deepEqual(
      s.clusters.map((c) => [c.id, c.podCidrs, c.serviceCidrs, c.gateways.map((g) => `${g.node} ${g.state} ${g.driver}`)]),
      [
        ["c1", ["10.1.0.0/16"], ["10.101.0.0/16"], ["n0 active vxlan"]],
        ["c2", ["10.2.0.0/16"], ["10.102.0.0/16"], ["n0 active vxlan"]],
      ],
    );
    assert.deepEqual(
      s.cables.map((c) => [c.id, c.status, c.driver, typeof c.rttMs]),
      [
        ["c1/n0→c2/n0", "connected", "vxlan", "number"],
        ["c2/n0→c1/n0", "connected", "vxlan", "number"],
      ],
    );
    assert.ok((s.cables[0]?.rttMs ?? 0) > 0);
  });

  it("a gateway whose status is older than the stale age is down; one with an Endpoint and no status too; a passive one is passive", () => {
    const passive = rec("gateway", "c1", "n1", { version: "0.1.0", haStatus: "passive", connections: [], updatedAt: new Date(at()).toISOString() });
    const noStatus = JSON.parse(LAB.find((r) => r.kind === "endpoint" && r.clusterId === "c2")?.valueJson ?? "{}") as Record<string, unknown>;
    const lonely = rec("endpoint", "c2", "causeway-cable-c2-198-18-2-11", {
      ...noStatus,
      hostname: "n1",
      private_ip: "198.18.2.11",
      cable_name: "causeway-cable-c2-198-18-2-11",
    });
    const s = dashboardState([...LAB, passive, lonely], at(STALE_STATUS_MS + 1));
    assert.deepEqual(
      s.clusters.map((c) => c.gateways.map((g) => `${c.id}/${g.node} ${g.state}`)),
      [
        ["c1/n0 down", "c1/n1 down"],
        ["c2/n0 down", "c2/n1 down"],
      ],
    );
    const fresh = dashboardState([...LAB, passive, lonely], at(1000));
    assert.deepEqual(
      fresh.clusters.flatMap((c) => c.gateways.map((g) => `${c.id}/${g.node} ${g.state}`)),
      ["c1/n0 active", "c1/n1 passive", "c2/n0 active", "c2/n1 down"],
    );
  });

  it("services: exporters oldest first with ready counts, the clusters answering (ready endpoints), the oldest export's clusterset IP, a type conflict named", () => {
    const s = dashboardState(
      [
        ...LAB,
        rec("export", "c2", "web.shop", exp("web", "shop", { ready: 2, exportedAt: "2026-12-01T00:00:01Z" })),
        rec("export", "c1", "web.shop", exp("web", "shop", { ready: 0, notReady: 1, clustersetIp: "243.0.0.5" })),
        rec("export", "c1", "db.pg", exp("db", "pg", { ready: 1, type: "Headless" })),
        rec("export", "c2", "db.pg", exp("db", "pg", { ready: 1, exportedAt: "2026-12-02T00:00:00Z" })),
      ],
      at(),
    );
    assert.deepEqual(
      s.services.map((x) => [x.id, x.type, x.clustersetIp, x.exporters.map((e) => `${e.cluster} ${e.ready}/${e.endpoints}`), x.answering, x.conflict]),
      [
        ["db/pg", "Headless", undefined, ["c1 1/1", "c2 1/1"], ["c1", "c2"], "type: c2 exports it otherwise than the oldest export (Headless)"],
        ["web/shop", "ClusterSetIP", "243.0.0.5", ["c1 0/1", "c2 2/2"], ["c2"], undefined],
      ],
    );
    const served = (x: (typeof s.services)[number] | undefined) => x?.servedTo.map((t) => `${t.cluster}: ${t.how} ${t.by.join("+")}`);
    assert.deepEqual(served(s.services[0]), ["c1: local c1", "c2: local c2"]);
    assert.deepEqual(served(s.services[1]), ["c1: failed over c2", "c2: local c2"], "c1 exports web/shop without a ready endpoint: its clients go to c2");
  });

  it("who answers a cluster's clients counts only the clusters its gateway reports connected: a cable in error leaves it answered by nobody", () => {
    const gw = LAB.find((r) => r.kind === "gateway" && r.clusterId === "c1") as WireRecord;
    const st = statusOf(gw);
    const broken = { ...gw, valueJson: JSON.stringify({ ...st, connections: st.connections.map((c) => ({ ...c, status: "error" })) }) };
    const s = dashboardState([...LAB.map((r) => (r === gw ? broken : r)), rec("export", "c2", "web.shop", exp("web", "shop", { ready: 1 }))], at());
    assert.deepEqual(
      s.services[0]?.servedTo.map((t) => `${t.cluster}: ${t.how} ${t.by.join("+")}`),
      ["c1: none ", "c2: local c2"],
    );
  });

  it("a record that fails validation is left out; strings are carried as they are (the page shows them as text)", () => {
    const hostile = `<img src=x onerror="alert(1)">`;
    const s = dashboardState(
      [
        ...LAB,
        rec("cluster", "bad", "bad", { cluster_id: "bad" }),
        rec("gateway", "c1", hostile, statusOf(LAB.find((r) => r.kind === "gateway") as WireRecord)),
      ],
      at(),
    );
    assert.ok(!s.clusters.some((c) => c.id === "bad"));
    assert.ok(s.clusters.find((c) => c.id === "c1")?.gateways.some((g) => g.node === hostile));
  });
});

describe("dashboard events (between two states)", () => {
  it("a cable turning to error, a gateway failing over, a cluster joining, a service answered elsewhere: one event each, in a stable order", () => {
    const gw = LAB.find((r) => r.kind === "gateway" && r.clusterId === "c1") as WireRecord;
    const st = statusOf(gw);
    const broken: GatewayStatus = {
      ...st,
      connections: st.connections.map((c) => ({ ...c, status: "error", statusMessage: "no reply to the last 5 probes" })),
    };
    const web = (ready: number) => rec("export", "c1", "web.shop", exp("web", "shop", { ready }));
    const remoteWeb = rec("export", "c2", "web.shop", exp("web", "shop", { ready: 1, exportedAt: "2026-12-01T00:00:01Z" }));
    const before = dashboardState([...LAB, web(1), remoteWeb], at());
    const after = dashboardState(
      [
        ...LAB.map((r) => (r === gw ? { ...r, valueJson: JSON.stringify(broken) } : r)),
        rec("cluster", "c3", "c3", { cluster_id: "c3", cluster_cidr: ["10.3.0.0/16"], service_cidr: [], global_cidr: [] }),
        rec("gateway", "c2", "n1", { version: "0.1.0", haStatus: "passive", connections: [], updatedAt: new Date(at()).toISOString() }),
        web(0),
        remoteWeb,
      ],
      at(),
    );
    assert.deepEqual(
      changes(before, after).map((e) => `${e.kind} ${e.subject}: ${e.text}`),
      [
        "cluster c3: joined",
        "gateway c2/n1: came, passive",
        "cable c1/n0→c2/n0: connected → error: no reply to the last 5 probes",
        "service web/shop: answered by c2 (was c1, c2)",
      ],
    );
    assert.deepEqual(changes(after, after), []);
  });
});
