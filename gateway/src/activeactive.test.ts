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
import { endpointLease, slotLease } from "@causeway/api";
import { reapTargets, SiteActiveGateway, slotOrder, staleEndpoint } from "./activeactive.ts";
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

describe("active-active stale Endpoint checks (pure)", () => {
  it("a gateway asks about its successor in the ring of slots, Endpoints claiming its own slot, and Endpoints without a slot", () => {
    const others = [endpointOf("n3", "127.0.1.3", 3), endpointOf("n5", "127.0.1.5", 5), endpointOf("n9", "127.0.1.9", 2), endpointOf("old", "127.0.1.8")];
    const names = (slot: number) => reapTargets(slot, others).map((ep) => ep.hostname);
    assert.deepEqual(names(1), ["n9", "old"], "slot 1: its successor is slot 2");
    assert.deepEqual(names(2), ["n3", "n9", "old"], "slot 2: slot 3, and n9 claiming slot 2");
    assert.deepEqual(names(5), ["n5", "n9", "old"], "slot 5: n5 claiming it, and the ring wraps round to slot 2");
    assert.deepEqual(names(4), ["n5", "old"]);
    assert.deepEqual(reapTargets(1, []), []);
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
  /** Calls that fail after `ms` (a deadline) while `cut()` says the broker is out of reach. */
  const unreachable =
    <A extends unknown[], R>(cut: () => boolean, call: (...a: A) => Promise<R>, ms = 300) =>
    (...a: A): Promise<R> =>
      cut() ? new Promise<R>((_, reject) => setTimeout(() => reject(new Error("Deadline exceeded")), ms)) : call(...a);
  const candidate = (node: string, ip: string, o: { underlayIsUp?: () => Promise<boolean>; cut?: () => boolean } = {}) => {
    const conn = connect();
    const cut = o.cut ?? (() => false);
    const sink = new view.BrokerGatewaySink(conn, "c1");
    const g = new SiteActiveGateway({
      ...(o.underlayIsUp ? { underlayDev: "ul0", underlayIsUp: o.underlayIsUp } : {}),
      site,
      nodeName: node,
      privateIp: ip,
      healthCheckIp: "10.1.0.1",
      underlayMtu: 1500,
      view: new view.BrokerEndpointView(conn, log),
      sink: {
        putEndpoint: unreachable(cut, (ep) => sink.putEndpoint(ep)),
        deleteEndpoint: unreachable(cut, (ep) => sink.deleteEndpoint(ep)),
        putStatus: unreachable(cut, (n, st) => sink.putStatus(n, st)),
        deleteStatus: unreachable(cut, (n) => sink.deleteStatus(n)),
      },
      driver: new VxlanCableDriver(host.fakeHostAdapters()),
      log,
      version: "test",
      leases: {
        acquireLease: unreachable(cut, (...a: Parameters<BrokerConnection["acquireLease"]>) => conn.acquireLease(...a)),
        renewLease: unreachable(cut, (...a: Parameters<BrokerConnection["renewLease"]>) => conn.renewLease(...a)),
        releaseLease: unreachable(cut, (...a: Parameters<BrokerConnection["releaseLease"]>) => conn.releaseLease(...a)),
      },
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

  it("stale Endpoints go down the ring of slots, one retry period each: a slot nobody holds, a slot another node holds, a live gateway's slot claimed again; the live ones stay", async () => {
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
    console.log(`# stale active-active Endpoints removed ${ms} ms after they appeared (retry period ${STANDALONE_LEASE.retryPeriodMs} ms)`);
    // n3 and n4 are the ring's slots 3 and 4 after n2's: one round each, plus one for a round in flight, plus the broker's calls.
    assert.ok(ms < 3 * STANDALONE_LEASE.retryPeriodMs + 1000, `${ms} ms`);
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

  it("a gateway whose underlay goes down withdraws its Endpoint and gives its slot up at once; back up, it is active again", async () => {
    const conn = connect();
    let up = true;
    const n8 = candidate("n8", "127.0.1.8", { underlayIsUp: async () => up });
    const slot = await until("n8 active", () => n8.slot);
    await until2("n8's Endpoint", async () => ((await published(conn)).has("n8") ? true : undefined));
    const t0 = performance.now();
    up = false;
    await until2("n8 withdrawn", async () => (!(await published(conn)).has("n8") ? true : undefined), 2000);
    const ms = Math.round(performance.now() - t0);
    assert.equal(n8.slot, undefined);
    assert.match(n8.ready() ?? "", /underlay link ul0 down/);
    // Its slot is free again (the lease released, not left to expire).
    assert.equal((await conn.acquireLease(slotLease(slot), "probe", 100)).held, true);
    await conn.releaseLease(slotLease(slot), "probe");
    console.log(`# underlay down: endpoint withdrawn after ${ms} ms`);
    assert.ok(ms < 2 * STANDALONE_LEASE.retryPeriodMs + 300, `${ms} ms`);
    up = true;
    await until("n8 active again", () => n8.slot);
    await until2("n8's Endpoint again", async () => ((await published(conn)).has("n8") ? true : undefined));
    await n8.stop();
    gateways.splice(gateways.indexOf(n8), 1);
  });

  it("underlay down with the broker out of reach too: withdrawn (its lease left to expire); link and broker back, active again", async () => {
    const conn = connect();
    let up = true;
    const n7 = candidate("n7", "127.0.1.7", { underlayIsUp: async () => up, cut: () => !up });
    await until("n7 active", () => n7.slot);
    await until2("n7's Endpoint", async () => ((await published(conn)).has("n7") ? true : undefined));
    up = false;
    await until("n7 withdrawn", () => (n7.slot === undefined ? true : undefined), 3000);
    // Another gateway's check removes the Endpoint once the lease expires.
    await until2("n7's Endpoint removed", async () => (!(await published(conn)).has("n7") ? true : undefined), 3000);
    up = true;
    const t0 = performance.now();
    await until("n7 active again", () => n7.slot, 3000);
    await until2("n7's Endpoint again", async () => ((await published(conn)).has("n7") ? true : undefined), 3000);
    console.log(`# underlay and broker back: active again after ${Math.round(performance.now() - t0)} ms`);
    await n7.stop();
    gateways.splice(gateways.indexOf(n7), 1);
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
