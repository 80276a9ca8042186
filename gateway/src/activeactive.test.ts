/**
 * Active-active gateway candidates (standalone): each holds a slot lease of its own and publishes
 * an Endpoint declaring the mode and its slot; a restarted gateway keeps its slot; Endpoints whose
 * lease is gone, held by another node, or that claim a live gateway's slot are removed (real
 * broker, fake host).
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { activeGateways, type Endpoint, gatewaySlotOf } from "@causeway/api";
import { startBroker } from "@causeway/broker";
import { host, silentLogger, STANDALONE_LEASE, view } from "@causeway/common";
import { BrokerConnection } from "@causeway/common/broker-client";
import { endpointLease, SiteActiveGateway, slotLease, slotOrder, staleEndpoint } from "./activeactive.ts";
import { VxlanCableDriver } from "./cable/vxlan.ts";
import { localEndpoint } from "./engine.ts";

const log = silentLogger();
const site = { clusterId: "c1", clusterCIDRs: ["10.1.0.0/16"], serviceCIDRs: [] };

/** Pure: an Endpoint of c1 for `node` at `ip`, in active-active `slot` (or active-passive). */
const endpointOf = (node: string, ip: string, slot?: number): Endpoint =>
  localEndpoint({ site, nodeName: node, privateIp: ip, healthCheckIp: "10.1.0.1", driver: new VxlanCableDriver(host.fakeHostAdapters()), gatewaySlot: slot });

const until = async <T>(what: string, f: () => T | undefined, ms = 5000): Promise<T> => {
  const end = performance.now() + ms;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (performance.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe("active-active gateway slots (pure)", () => {
  it("slots are tried from the one the gateway held last, then 1, 2, …; an Endpoint lives by its slot's lease, or the election lease in active-passive", () => {
    assert.deepEqual(slotOrder().slice(0, 3), [1, 2, 3]);
    assert.equal(slotOrder().length, 15);
    assert.deepEqual(slotOrder(5).slice(0, 3), [5, 1, 2]);
    assert.deepEqual(slotOrder(99).slice(0, 2), [1, 2]);
    assert.equal(endpointLease(endpointOf("n1", "127.0.1.1", 4)), slotLease(4));
    assert.equal(endpointLease(endpointOf("n1", "127.0.1.1")), "gateway");
    const ep = endpointOf("n2", "127.0.1.2", 2);
    assert.equal(staleEndpoint(ep, { held: false, holder: "n2", expiresInMs: 900 }), undefined);
    assert.match(staleEndpoint(ep, { held: true, holder: "n1", expiresInMs: 1000 }) ?? "", /gateway-slot-2 is free/);
    assert.match(staleEndpoint(ep, { held: false, holder: "n3", expiresInMs: 900 }) ?? "", /held by n3/);
    assert.match(staleEndpoint(ep, "own-lease") ?? "", /claims this gateway's slot/);
  });
});

describe("active-active gateway candidates (real broker, fake host)", () => {
  const dir = mkdtempSync(join(tmpdir(), "causeway-active-active-"));
  const sock = `unix://${join(dir, "broker.sock")}`;
  let broker: Awaited<ReturnType<typeof startBroker>>;
  let token = "";
  const conns: BrokerConnection[] = [];
  const gateways: SiteActiveGateway[] = [];
  before(async () => {
    broker = await startBroker({ listen: [sock], db: join(dir, "broker.db"), adminTokenFile: join(dir, "admin-token") }, log);
    const admin = new BrokerConnection({ address: sock, token: readFileSync(join(dir, "admin-token"), "utf8").trim() });
    token = (await admin.join({ cluster_id: "c1", cluster_cidr: ["10.1.0.0/16"], service_cidr: [], global_cidr: [] })).token;
    admin.close();
  });
  after(async () => {
    for (const g of gateways) await g.stop();
    for (const c of conns) c.close();
    await broker?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const connect = () => {
    const conn = new BrokerConnection({ address: sock, token });
    conns.push(conn);
    return conn;
  };
  const candidate = (node: string, ip: string) => {
    const conn = connect();
    const g = new SiteActiveGateway({
      site,
      nodeName: node,
      privateIp: ip,
      healthCheckIp: "10.1.0.1",
      underlayMtu: 1500,
      view: new view.BrokerEndpointView(conn, log),
      sink: new view.BrokerGatewaySink(conn, "c1"),
      driver: new VxlanCableDriver(host.fakeHostAdapters()),
      log,
      version: "test",
      leases: conn,
      election: STANDALONE_LEASE,
      candidates: 3,
    });
    gateways.push(g);
    g.start();
    return g;
  };
  /** c1's Endpoints at the broker, by node. */
  const published = async (conn: BrokerConnection) =>
    new Map(
      (await conn.list("endpoint")).records.map((r) => {
        const ep = JSON.parse(r.valueJson) as Endpoint;
        return [ep.hostname, ep] as const;
      }),
    );

  it("two candidates: each active with a slot of its own, published in its Endpoint; both are the cluster's active gateways, by slot", async () => {
    const conn = connect();
    const [n1, n2] = [candidate("n1", "127.0.1.1"), candidate("n2", "127.0.1.2")];
    await until("both active", () => (n1.slot && n2.slot ? true : undefined));
    assert.deepEqual(new Set([n1.slot, n2.slot]), new Set([1, 2]));
    const eps = await until2("both Endpoints published", async () => {
      const m = await published(conn);
      return m.size === 2 ? m : undefined;
    });
    for (const [node, g] of [
      ["n1", n1],
      ["n2", n2],
    ] as const) {
      const ep = eps.get(node);
      assert.equal(ep?.backend_config["gateway-mode"], "active-active", node);
      assert.equal(ep && gatewaySlotOf(ep), g.slot, node);
    }
    const all = [...eps.values()];
    assert.deepEqual(
      activeGateways(all.at(-1), all).map((ep) => ep.hostname),
      [...eps.values()].sort((a, b) => (gatewaySlotOf(a) ?? 0) - (gatewaySlotOf(b) ?? 0)).map((ep) => ep.hostname),
    );
    assert.equal(activeGateways(all.at(-1), all).length, 2);
  });

  it("stale Endpoints go within two lease durations: a slot nobody holds, a slot another node holds, a live gateway's slot claimed again; the live ones stay", async () => {
    const conn = connect();
    const sink = new view.BrokerGatewaySink(conn, "c1");
    const held = await conn.acquireLease(slotLease(4), "n5", 60_000);
    assert.equal(held.held, true);
    const t0 = performance.now();
    await sink.putEndpoint(endpointOf("n3", "127.0.1.3", 3));
    await sink.putEndpoint(endpointOf("n4", "127.0.1.4", 4));
    await sink.putEndpoint(endpointOf("n6", "127.0.1.6", 1));
    const left = await until2("the stale Endpoints removed", async () => {
      const m = await published(conn);
      return ["n3", "n4", "n6"].some((n) => m.has(n)) ? undefined : m;
    });
    const ms = Math.round(performance.now() - t0);
    console.log(`# stale active-active Endpoints removed ${ms} ms after they appeared (lease ${STANDALONE_LEASE.leaseDurationMs} ms)`);
    assert.ok(ms < 2 * STANDALONE_LEASE.leaseDurationMs + 500, `${ms} ms`);
    assert.deepEqual([...left.keys()].sort(), ["n1", "n2"]);
    // The lease asked about is given back; the one another node holds is untouched.
    assert.equal((await conn.acquireLease(slotLease(3), "probe", 1000)).held, true);
    assert.equal((await conn.acquireLease(slotLease(4), "probe", 1000)).holder, "n5");
  });

  it("a gateway restarted within its lease (it crashed holding slot 7) takes slot 7 again, not the lowest free one", async () => {
    const conn = connect();
    assert.equal((await conn.acquireLease(slotLease(7), "n9", 60_000)).held, true);
    const n9 = candidate("n9", "127.0.1.9");
    assert.equal(await until("n9 active", () => n9.slot), 7);
    await n9.stop();
    gateways.splice(gateways.indexOf(n9), 1);
  });

  it("a gateway stopping while another is active withdraws its Endpoint; the other's stays", async () => {
    const conn = connect();
    const [n1, n2] = gateways;
    assert.ok(n1 && n2);
    await n2.stop();
    const m = await published(conn);
    assert.deepEqual([...m.keys()], ["n1"]);
    assert.equal(n2.slot, undefined);
    assert.ok(n1.slot);
  });
});

const until2 = async <T>(what: string, f: () => Promise<T | undefined>, ms = 5000): Promise<T> => {
  const end = performance.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (performance.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
};
