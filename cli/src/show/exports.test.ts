import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { ServiceExport, WireRecord } from "@causeway/api";
import { assertGolden } from "@causeway/common";
import { exportRows, renderExports } from "./exports.ts";

const rec = (clusterId: string, v: ServiceExport): WireRecord => ({
  kind: "export",
  clusterId,
  name: `${v.namespace}.${v.name}`,
  valueJson: JSON.stringify(v),
  revision: 1,
  createRevision: 1,
});
const at = "2026-12-04T10:00:00.000Z";

describe("show exports", () => {
  it("lists each cluster's export with its IP, clusterset IP and (globalnet) global IPs", () => {
    const records = [
      rec("c3", {
        namespace: "default",
        name: "db",
        type: "Headless",
        ip: "",
        ports: [{ protocol: "TCP", port: 80 }],
        endpoints: [
          { ip: "10.244.1.50", hostname: "db-0", ready: true, globalIp: "242.2.4.49" },
          { ip: "10.244.2.50", hostname: "db-1", ready: false },
        ],
        exportedAt: at,
      }),
      rec("c2", {
        namespace: "default",
        name: "web",
        type: "ClusterSetIP",
        ip: "10.96.0.11",
        clustersetIp: "243.0.21.148",
        globalIp: "242.1.94.24",
        ports: [{ protocol: "TCP", port: 80 }],
        endpoints: [{ ip: "10.244.1.50", ready: true }],
        exportedAt: at,
      }),
      rec("c1", { namespace: "default", name: "late", type: "ClusterSetIP", ip: "", ports: [], endpoints: [], exportedAt: at, unavailable: "no service" }),
      { kind: "cluster", clusterId: "c1", name: "c1", valueJson: "{}", revision: 1, createRevision: 1 },
    ];
    const text = renderExports(exportRows(records));
    assertGolden(join(import.meta.dirname, "testdata", "show-exports.txt"), `${text}\n`);
    assert.match(text, /web +c2 +ClusterSetIP +10\.96\.0\.11 +243\.0\.21\.148 +242\.1\.94\.24 +1\/1/);
    assert.match(text, /db +c3 +Headless +- +- +242\.2\.4\.49 +1\/2/);
    assert.equal(renderExports([]), "No exports found");
  });
});
