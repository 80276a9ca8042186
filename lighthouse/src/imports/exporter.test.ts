import assert from "node:assert/strict";
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { ServiceExport } from "@causeway/api";
import { type SiteService, silentLogger } from "@causeway/common";
import { stringify } from "yaml";
import { buildImports } from "./build.ts";
import { unlistedExport } from "@causeway/common";
import { ServiceExporter, siteServices } from "./exporter.ts";

const web: SiteService = {
  namespace: "default",
  name: "web",
  type: "ClusterSetIP",
  ip: "10.101.0.11",
  ports: [{ name: "http", protocol: "TCP", port: 80 }],
  endpoints: [{ ip: "10.1.1.50" }, { ip: "10.1.2.50" }],
};

const site = (services: SiteService[]) =>
  stringify({
    clusterId: "c1",
    clusterCIDRs: ["10.1.0.0/16"],
    serviceCIDRs: ["10.101.0.0/16"],
    broker: { address: "198.18.0.2:7400", tokenFile: "/nonexistent" },
    nodes: [{ name: "n0", ip: "198.19.1.10", podCIDR: "10.1.0.0/24", gateway: true }],
    services,
  });

describe("standalone export keeper", () => {
  it("exported before its service: unavailable and imported nowhere; once the site file lists it, exported with probed readiness", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cw-exporter-"));
    try {
      const file = join(dir, "site.yaml");
      writeFileSync(file, site([]));
      const services = siteServices(file, [], silentLogger());
      let current: ServiceExport = unlistedExport({ namespace: "default", name: "web", type: "ClusterSetIP", exportedAt: "2026-11-29T00:00:00.000Z" });
      assert.equal(buildImports([{ clusterId: "c1", value: current }]).services.length, 0);
      const exporter = new ServiceExporter({
        clusterId: "c1",
        services,
        exported: () => [current],
        put: async (_name, value) => {
          current = value;
        },
        log: silentLogger(),
        probe: async (ip) => ip === "10.1.1.50",
      });
      await exporter.tick();
      assert.match(current.unavailable ?? "", /not in the site file/);
      writeFileSync(file, site([web]));
      utimesSync(file, new Date(), new Date(Date.now() + 2000)); // a newer mtime even on coarse clocks
      await exporter.tick();
      assert.equal(current.unavailable, undefined);
      assert.equal(current.exportedAt, "2026-11-29T00:00:00.000Z", "the export keeps its age (conflict resolution)");
      assert.deepEqual(
        current.endpoints.map((e) => [e.ip, e.ready]),
        [
          ["10.1.1.50", true],
          ["10.1.2.50", false],
        ],
      );
      const { services: imported } = buildImports([{ clusterId: "c1", value: current }]);
      assert.equal(imported[0]?.clusters[0]?.ip, "10.101.0.11");
      // A site file that stops loading keeps the last good services.
      writeFileSync(file, "clusterId: [");
      utimesSync(file, new Date(), new Date(Date.now() + 4000));
      assert.deepEqual(
        services().map((s) => s.name),
        ["web"],
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
