import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { exportName, PermissionDeniedError, type ServiceExport, ValidationError } from "@causeway/api";
import { startBroker } from "@causeway/broker";
import { silentLogger } from "@causeway/common";
import { BrokerConnection } from "@causeway/common/broker-client";
import { Resolver } from "../dns/resolver.ts";
import { buildImports } from "./build.ts";
import { connectedVia } from "@causeway/common";
import { BrokerDnsSource } from "./source.ts";

const log = silentLogger();
const exp = ({ ready = true, ...o }: Partial<ServiceExport> & { ip: string; ready?: boolean }): ServiceExport => ({
  namespace: "test",
  name: "nginx",
  type: "ClusterSetIP",
  ports: [{ name: "http", protocol: "TCP", port: 80 }],
  endpoints: [{ ip: o.ip ? o.ip.replace(/\.0\.(\d+)$/, ".1.$1") : "10.3.1.5", ready }],
  exportedAt: "2026-11-29T10:00:00.000Z",
  ...o,
});

describe("imports from exports", () => {
  it("one import per namespace/name; the oldest export decides the type, others conflict", () => {
    const { services, conflicts } = buildImports([
      { clusterId: "c2", value: exp({ ip: "10.102.0.5", exportedAt: "2026-11-29T10:00:02Z" }) },
      { clusterId: "c1", value: exp({ ip: "10.101.0.5", exportedAt: "2026-11-29T10:00:01Z" }) },
      { clusterId: "c3", value: exp({ ip: "", type: "Headless", exportedAt: "2026-11-29T10:00:03Z" }) },
    ]);
    assert.equal(services.length, 1);
    assert.equal(services[0]?.type, "ClusterSetIP");
    assert.deepEqual(
      services[0]?.clusters.map((c) => c.clusterId),
      ["c1", "c2"],
    );
    assert.deepEqual(conflicts, [
      { namespace: "test", name: "nginx", clusterId: "c3", reason: "exported as Headless; the oldest export (cluster c1) is ClusterSetIP" },
    ]);
  });

  it("connected: the active gateway's connection status decides; without an active gateway every cluster is", () => {
    const st = (haStatus: "active" | "passive", status: "connected" | "error", updatedAt = "2026-11-29T10:00:00Z") =>
      ({ version: "t", haStatus, statusFailure: "", updatedAt, connections: [{ status, endpoint: { cluster_id: "c2" } }] }) as never;
    assert.equal(connectedVia([], "c2"), true);
    assert.equal(connectedVia([st("active", "connected")], "c2"), true);
    assert.equal(connectedVia([st("active", "error"), st("passive", "connected")], "c2"), false);
    assert.equal(connectedVia([st("active", "connected")], "c9"), false);
  });
});

describe("DNS from the broker (real broker)", () => {
  const dir = mkdtempSync(join(tmpdir(), "causeway-lh-"));
  const sock = `unix://${join(dir, "broker.sock")}`;
  let broker: Awaited<ReturnType<typeof startBroker>>;
  const conns: Record<string, BrokerConnection> = {};
  before(async () => {
    broker = await startBroker({ listen: [sock], db: join(dir, "b.db"), adminTokenFile: join(dir, "admin"), bookmarkIntervalMs: 200 }, log);
    const admin = new BrokerConnection({ address: sock, token: readFileSync(join(dir, "admin"), "utf8").trim() });
    for (const [id, n] of [
      ["c1", 1],
      ["c2", 2],
    ] as const) {
      const j = await admin.join({ cluster_id: id, cluster_cidr: [`10.${n}.0.0/16`], service_cidr: [`10.10${n}.0.0/16`], global_cidr: [] });
      conns[id] = new BrokerConnection({ address: sock, token: j.token });
    }
    admin.close();
  });
  after(async () => {
    for (const c of Object.values(conns)) c.close();
    await broker?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("an export in c2 resolves in c1; c1's own export wins while ready; c2 not answered when its cable is down", async () => {
    const c1 = conns.c1 as BrokerConnection;
    const c2 = conns.c2 as BrokerConnection;
    const src = new BrokerDnsSource(c1, "c1", log);
    let changes = 0;
    src.start(() => changes++);
    await src.synced;
    const r = new Resolver(src);
    const ask = () => r.resolve({ name: "nginx.test.svc.clusterset.local", type: "A" }).answers.map((a) => a.data);
    const until = async (f: () => boolean) => {
      for (let i = 0; i < 100 && !f(); i++) await new Promise((res) => setTimeout(res, 20));
      assert.ok(f());
    };
    try {
      assert.equal(r.resolve({ name: "nginx.test.svc.clusterset.local", type: "A" }).rcode, "NXDOMAIN");
      await c2.put("export", "c2", exportName("test", "nginx"), exp({ ip: "10.102.0.5" }));
      await until(() => ask()[0] === "10.102.0.5");
      await c1.put("export", "c1", exportName("test", "nginx"), exp({ ip: "10.101.0.5", exportedAt: "2026-11-29T10:05:00Z" }));
      await until(() => ask()[0] === "10.101.0.5");
      // Local endpoints no longer ready: c2 — unless c1's active gateway says c2's cable is down.
      await c1.put("export", "c1", exportName("test", "nginx"), exp({ ip: "10.101.0.5", ready: false }));
      await until(() => ask()[0] === "10.102.0.5");
      const down = { version: "t", haStatus: "active" as const, statusFailure: "", updatedAt: new Date().toISOString(), connections: [] };
      await c1.put("gateway", "c1", "n0", down);
      await until(() => ask().length === 0);
      assert.ok(changes > 0);
      // Bad input: another cluster's export, a misnamed one.
      await assert.rejects(c1.put("export", "c2", exportName("test", "x"), exp({ ip: "10.102.0.6", name: "x" })), PermissionDeniedError);
      await assert.rejects(c1.put("export", "c1", "wrong-name", exp({ ip: "10.101.0.6" })), ValidationError);
    } finally {
      src.stop();
    }
  });
});
