import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { inBlock, type ServiceExport } from "@causeway/api";
import type { ExportRecord } from "@causeway/common";
import { ClustersetIndex, clustersetIpFor, withClustersetIp } from "./clustersetip.ts";

const exp = (name: string, exportedAt: string, extra: Partial<ServiceExport> = {}): ServiceExport => ({
  namespace: "default",
  name,
  type: "ClusterSetIP",
  ip: "10.96.0.10",
  ports: [{ protocol: "TCP", port: 80 }],
  endpoints: [],
  exportedAt,
  ...extra,
});
const B1 = "243.0.0.0/20";
const B2 = "243.0.16.0/20";

describe("clusterset IP of an export", () => {
  it("the first exporter allocates from its own block, the same address on every run", () => {
    const ip = clustersetIpFor("c1", exp("web", "t1"), [], B1);
    assert.ok(inBlock(B1, ip), ip);
    assert.equal(clustersetIpFor("c1", exp("web", "t1"), [], B1), ip);
  });

  it("a younger export of the name adopts the older one's address; an older one keeps its own", () => {
    const all: ExportRecord[] = [{ clusterId: "c1", value: exp("web", "t1", { clustersetIp: "243.0.0.7" }) }];
    assert.equal(clustersetIpFor("c2", exp("web", "t2"), all, B2), "243.0.0.7");
    // c2 had allocated its own before it saw c1's (a race): it converges on the older one's
    all.push({ clusterId: "c2", value: exp("web", "t2", { clustersetIp: "243.0.16.9" }) });
    assert.equal(clustersetIpFor("c2", exp("web", "t2", { clustersetIp: "243.0.16.9" }), all, B2), "243.0.0.7");
    assert.equal(clustersetIpFor("c1", exp("web", "t1", { clustersetIp: "243.0.0.7" }), all, B1), "243.0.0.7");
  });

  it("the address survives the oldest exporter leaving: the next one already holds it", () => {
    const all: ExportRecord[] = [{ clusterId: "c2", value: exp("web", "t2", { clustersetIp: "243.0.0.7" }) }];
    assert.equal(clustersetIpFor("c2", exp("web", "t2"), all, B2), "243.0.0.7");
  });

  it("two services never share an address; a held address another service took is given up", () => {
    const all: ExportRecord[] = [];
    const ips = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const value = withClustersetIp("c1", exp(`s${i}`, "t1"), all, "243.0.0.0/24");
      assert.ok(value.clustersetIp);
      ips.add(value.clustersetIp);
      all.push({ clusterId: "c1", value });
    }
    assert.equal(ips.size, 200);
    const other = all[0]?.value.clustersetIp ?? "";
    const held = exp("web", "t1", { clustersetIp: other });
    const ip = clustersetIpFor("c1", held, [...all, { clusterId: "c1", value: held }], "243.0.0.0/24");
    assert.notEqual(ip, other);
    assert.ok(!ips.has(ip));
  });

  it("none for a headless export, a missing block, or a full block", () => {
    assert.equal(clustersetIpFor("c1", exp("db", "t1", { type: "Headless", ip: "" }), [], B1), "");
    assert.equal(clustersetIpFor("c1", exp("web", "t1"), [], undefined), "");
    const all: ExportRecord[] = ["243.0.0.1", "243.0.0.2"].map((ip, i) => ({ clusterId: "c1", value: exp(`s${i}`, "t1", { clustersetIp: ip }) }));
    assert.equal(clustersetIpFor("c1", exp("web", "t1"), all, "243.0.0.0/30"), "");
    assert.equal(withClustersetIp("c1", exp("db", "t1", { type: "Headless", clustersetIp: "243.0.0.1" }), [], B1).clustersetIp, undefined);
  });

  it("one index for a pass: what the pass gave is seen by the next allocation; the same answers as a scan", () => {
    // A /30 block has two usable addresses: the second new service gets the other one.
    const small = "243.0.0.0/30";
    const index = new ClustersetIndex([]);
    const a = withClustersetIp("c1", exp("a", "2026-12-01T00:00:00Z"), index, small);
    index.set("c1", a);
    const b = withClustersetIp("c1", exp("b", "2026-12-01T00:00:01Z"), index, small);
    assert.ok(a.clustersetIp && b.clustersetIp);
    assert.notEqual(a.clustersetIp, b.clustersetIp);
    index.set("c1", b);
    assert.equal(withClustersetIp("c1", exp("c", "2026-12-01T00:00:02Z"), index, small).clustersetIp, undefined, "the block is full");
    // An index and a list of the same records give the same address.
    const all: ExportRecord[] = [
      { clusterId: "c2", value: { ...exp("web", "2026-12-01T00:00:00Z"), clustersetIp: "243.0.16.9" } },
      { clusterId: "c1", value: { ...exp("api", "2026-12-01T00:00:00Z"), clustersetIp: "243.0.0.7" } },
    ];
    for (const name of ["web", "api", "db"]) {
      const r = exp(name, "2026-12-02T00:00:00Z");
      assert.equal(clustersetIpFor("c1", r, new ClustersetIndex(all), B1), clustersetIpFor("c1", r, all, B1), name);
    }
  });
});
