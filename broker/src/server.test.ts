import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { type Endpoint, PermissionDeniedError, UnauthenticatedError } from "@causeway/api";
import { BrokerWatcher, silentLogger } from "@causeway/common";
import { BrokerConnection } from "@causeway/common/broker-client";
import { startBroker } from "./index.ts";

const dir = mkdtempSync(join(tmpdir(), "causeway-broker-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const log = silentLogger();

function ep(id: string, n: number): Endpoint {
  const ip = `198.18.${n}.10`;
  return {
    cluster_id: id,
    cable_name: `causeway-cable-${id}-${ip.replaceAll(".", "-")}`,
    healthCheckIP: "",
    hostname: `host-${n}`,
    subnets: [`10.${n}.0.0/16`],
    private_ip: ip,
    public_ip: "",
    nat_enabled: false,
    backend: "vxlan",
    backend_config: {},
  };
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("broker over gRPC", () => {
  const sock = `unix://${join(dir, "broker.sock")}`;
  const cfg = { listen: [sock], db: join(dir, "broker.db"), adminTokenFile: join(dir, "admin-token"), bookmarkIntervalMs: 200 };

  it("serves join/put/list, refuses bad credentials and cross-cluster writes", async () => {
    const broker = await startBroker(cfg, log);
    const adminToken = readFileSync(cfg.adminTokenFile, "utf8").trim();
    const admin = new BrokerConnection({ address: sock, token: adminToken });
    try {
      assert.equal((await admin.whoAmI()).role, "admin");
      const j1 = await admin.join({ cluster_id: "g1", cluster_cidr: ["10.1.0.0/16"], service_cidr: [], global_cidr: [] });
      await admin.join({ cluster_id: "g2", cluster_cidr: ["10.2.0.0/16"], service_cidr: [], global_cidr: [] });
      const c1 = new BrokerConnection({ address: sock, token: j1.token });
      await c1.put("endpoint", "g1", ep("g1", 1).cable_name, ep("g1", 1));
      await assert.rejects(c1.put("endpoint", "g2", ep("g2", 2).cable_name, ep("g2", 2)), PermissionDeniedError);
      const bad = new BrokerConnection({ address: sock, token: "cwc.g1.nope" });
      await assert.rejects(bad.list("endpoint"), UnauthenticatedError);
      assert.equal((await c1.list("endpoint")).records.length, 1);
      c1.close();
      bad.close();
    } finally {
      admin.close();
      await broker.close();
    }
  });

  it("a watcher resumes after the broker restarts: no event lost, none duplicated", async () => {
    let broker = await startBroker(cfg, log);
    const adminToken = readFileSync(cfg.adminTokenFile, "utf8").trim();
    const admin = new BrokerConnection({ address: sock, token: adminToken });
    const applied: string[] = [];
    const events: { type: string; id: string; rev: number }[] = [];
    const watcher = new BrokerWatcher(admin, {
      kinds: ["endpoint"],
      log,
      onChange: () => {},
      onApply: (type, r, rev) => events.push({ type, id: r.clusterId, rev }),
      minBackoffMs: 50,
      maxBackoffMs: 200,
    });
    // Count every record revision the cache applies, to detect duplicates.
    const seenRevs = new Set<number>();
    const origItems = () => watcher.items("endpoint");
    try {
      watcher.start();
      await watcher.synced;
      const j3 = await admin.join({ cluster_id: "g3", cluster_cidr: ["10.3.0.0/16"], service_cidr: [], global_cidr: [] });
      const c3 = new BrokerConnection({ address: sock, token: j3.token });
      await c3.put("endpoint", "g3", ep("g3", 3).cable_name, ep("g3", 3));
      await until(() => origItems().some((r) => r.clusterId === "g3"));
      // Drop every stream: stop the broker, write while the watcher is cut off, restart.
      await broker.close();
      const offline = await startBroker({ ...cfg, listen: [`unix://${join(dir, "other.sock")}`] }, log);
      const admin2 = new BrokerConnection({ address: `unix://${join(dir, "other.sock")}`, token: adminToken });
      const j4 = await admin2.join({ cluster_id: "g4", cluster_cidr: ["10.4.0.0/16"], service_cidr: [], global_cidr: [] });
      const c4 = new BrokerConnection({ address: `unix://${join(dir, "other.sock")}`, token: j4.token });
      await c4.put("endpoint", "g4", ep("g4", 4).cable_name, ep("g4", 4));
      await admin2.leave("g3");
      admin2.close();
      c4.close();
      await offline.close();
      broker = await startBroker(cfg, log);
      await until(() => {
        const ids = origItems()
          .map((r) => r.clusterId)
          .sort();
        return ids.join(",") === "g1,g4";
      }, 10_000);
      for (const r of origItems()) {
        assert.ok(!seenRevs.has(r.revision));
        seenRevs.add(r.revision);
        applied.push(r.clusterId);
      }
      assert.deepEqual(applied.sort(), ["g1", "g4"]);
      // The stream the watcher applied: g3 put, then (after the restart) g4 put and g3 delete,
      // each exactly once and in strictly increasing revision order.
      assert.deepEqual(
        events.map((e) => `${e.type}:${e.id}`),
        ["put:g3", "put:g4", "delete:g3"],
      );
      const revs = events.map((e) => e.rev);
      assert.ok(revs.every((r, i) => i === 0 || r > (revs[i - 1] ?? 0)));
      c3.close();
    } finally {
      watcher.stop();
      admin.close();
      await broker.close();
    }
  });
});
