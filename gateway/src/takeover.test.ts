/**
 * A gateway that takes over from another of its cluster (the old one killed or stopping) builds
 * its cables at once with the configured addresses while NAT discovery asks; the first gateway of
 * a cluster waits for discovery's answer. Cables come before the Endpoint: the cluster's route
 * agents steer to a gateway as soon as they see its Endpoint (real broker, fake host, discovery on loopback).
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { parseValue } from "@causeway/api";
import { startBroker } from "@causeway/broker";
import { host, silentLogger, view } from "@causeway/common";
import { BrokerConnection } from "@causeway/common/broker-client";
import { VxlanCableDriver } from "./cable/vxlan.ts";
import { GatewayEngine, localEndpoint } from "./engine.ts";

const log = silentLogger();
/** Endpoints only (the remote's): a fake host of its own. */
const remoteDriver = new VxlanCableDriver(host.fakeHostAdapters());
const site = (id: string, n: number) => ({ clusterId: id, clusterCIDRs: [`10.${n}.0.0/16`], serviceCIDRs: [] });

describe("gateway engine taking over (real broker, fake host)", () => {
  const dir = mkdtempSync(join(tmpdir(), "causeway-takeover-"));
  const sock = `unix://${join(dir, "broker.sock")}`;
  let broker: Awaited<ReturnType<typeof startBroker>>;
  const conns: BrokerConnection[] = [];
  const engines: GatewayEngine[] = [];
  before(async () => {
    broker = await startBroker({ listen: [sock], db: join(dir, "broker.db"), adminTokenFile: join(dir, "admin-token"), bookmarkIntervalMs: 200 }, log);
  });
  after(async () => {
    for (const e of engines) await e.stop();
    for (const c of conns) c.close();
    await broker?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Joins `id` (n) and `remote`; the remote's gateway publishes an endpoint on loopback whose discovery port nobody answers. */
  async function clusters(id: string, n: number, remote: string, m: number): Promise<BrokerConnection> {
    const admin = new BrokerConnection({ address: sock, token: readFileSync(join(dir, "admin-token"), "utf8").trim() });
    const j1 = await admin.join({ cluster_id: id, cluster_cidr: [`10.${n}.0.0/16`], service_cidr: [], global_cidr: [] });
    const j2 = await admin.join({ cluster_id: remote, cluster_cidr: [`10.${m}.0.0/16`], service_cidr: [], global_cidr: [] });
    admin.close();
    const mine = new BrokerConnection({ address: sock, token: j1.token });
    const theirs = new BrokerConnection({ address: sock, token: j2.token });
    conns.push(mine, theirs);
    const silent = localEndpoint(
      { site: site(remote, m), nodeName: "n0", privateIp: `127.0.${m}.10`, healthCheckIp: `10.${m}.0.1`, driver: remoteDriver },
      "",
      24900 + m,
    );
    await theirs.put("endpoint", remote, silent.cable_name, silent);
    return mine;
  }

  /** What the host's cables reached each time the engine published its Endpoint. */
  const cablesAtPublish: string[][] = [];

  function engine(conn: BrokerConnection, id: string, n: number, node: string, privateIp: string): GatewayEngine {
    const sink = new view.BrokerGatewaySink(conn, id);
    // Each gateway its own (fake) host.
    const driver = new VxlanCableDriver(host.fakeHostAdapters());
    const e = new GatewayEngine({
      site: site(id, n),
      nodeName: node,
      privateIp,
      healthCheckIp: `10.${n}.0.1`,
      underlayMtu: 1500,
      natDiscovery: { port: 24800 + n, bindAddress: privateIp, sourceFor: async () => privateIp, timeoutMs: 60_000 },
      view: new view.BrokerEndpointView(conn, log),
      sink: {
        putEndpoint: async (ep) => {
          cablesAtPublish.push([...(await driver.installedRemotes())]);
          await sink.putEndpoint(ep);
        },
        deleteEndpoint: (ep) => sink.deleteEndpoint(ep),
        putStatus: (node, st) => sink.putStatus(node, st),
        deleteStatus: (node) => sink.deleteStatus(node),
      },
      driver,
      log,
      version: "test",
    });
    engines.push(e);
    return e;
  }

  const connection = async (conn: BrokerConnection, id: string, node: string, remote: string) => {
    const r = (await conn.list("gateway")).records.find((x) => x.clusterId === id && x.name === node);
    return r && parseValue("gateway", r.valueJson).connections.find((c) => c.endpoint.cluster_id === remote);
  };
  const settle = async (f: () => Promise<boolean>) => {
    for (let i = 0; i < 100 && !(await f()); i++) await new Promise((r) => setTimeout(r, 20));
  };

  it("the cluster's first gateway: the cable waits for discovery (the remote does not answer)", async () => {
    const conn = await clusters("c1", 1, "c2", 2);
    const e = engine(conn, "c1", 1, "n0", "127.0.1.10");
    e.start();
    await settle(async () => (await connection(conn, "c1", "n0", "c2")) !== undefined);
    await new Promise((r) => setTimeout(r, 300));
    const c = await connection(conn, "c1", "n0", "c2");
    assert.equal(c?.statusMessage, "NAT discovery in progress");
    assert.equal(c?.usingIP, "");
  });

  it("taking over from another gateway of the cluster: the cable uses the configured address at once, and the old endpoint is gone", async () => {
    const conn = await clusters("c3", 3, "c4", 4);
    cablesAtPublish.length = 0;
    const old = localEndpoint({ site: site("c3", 3), nodeName: "n0", privateIp: "127.0.3.10", healthCheckIp: "10.3.0.1", driver: remoteDriver });
    await conn.put("endpoint", "c3", old.cable_name, old);
    const e = engine(conn, "c3", 3, "n1", "127.0.3.11");
    const t0 = performance.now();
    e.start();
    await settle(async () => (await connection(conn, "c3", "n1", "c4"))?.usingIP === "127.0.4.10");
    const c = await connection(conn, "c3", "n1", "c4");
    assert.equal(c?.usingIP, "127.0.4.10", "the configured (private) address while the remote does not answer discovery");
    assert.equal(c?.usingNAT, false);
    assert.ok(performance.now() - t0 < 1000, `cable within 1 s of the takeover, not after discovery (${Math.round(performance.now() - t0)} ms)`);
    assert.ok(cablesAtPublish[0]?.includes("127.0.4.10"), "the cable was there before the Endpoint was published (route agents steer to it at once)");
    const eps = (await conn.list("endpoint")).records.filter((r) => r.clusterId === "c3").map((r) => r.name);
    assert.deepEqual(eps, [e.endpoint.cable_name]);
  });

  it("an endpoint of another node of the cluster written after the takeover (a restarted gateway that led for a moment) is removed too", async () => {
    const conn = await clusters("c7", 7, "c8", 8);
    const e = engine(conn, "c7", 7, "n1", "127.0.7.11");
    e.start();
    const nodesOf = async () => (await conn.list("endpoint")).records.filter((r) => r.clusterId === "c7").map((r) => r.name);
    await settle(async () => (await nodesOf()).includes(e.endpoint.cable_name));
    assert.deepEqual(await nodesOf(), [e.endpoint.cable_name]);
    await settle(async () => e.loop.passes > 0);
    const late = localEndpoint({ site: site("c7", 7), nodeName: "n0", privateIp: "127.0.7.10", healthCheckIp: "10.7.0.1", driver: remoteDriver });
    await conn.put("endpoint", "c7", late.cable_name, late);
    const t0 = performance.now();
    await settle(async () => (await nodesOf()).length === 1);
    assert.deepEqual(await nodesOf(), [e.endpoint.cable_name], "only the active gateway's Endpoint is left");
    const ms = Math.round(performance.now() - t0);
    assert.ok(ms < 1000, `removed within 1 s (${ms} ms)`);
    const status = (await conn.list("gateway")).records.find((r) => r.clusterId === "c7" && r.name === "n0");
    assert.equal(status && parseValue("gateway", status.valueJson).haStatus, "passive", "its node is reported passive");
  });

  it("not taking over, the Endpoint still goes first: a pass that cannot write it (broker unreachable, its view emptied) touches no cable", async () => {
    const driver = new VxlanCableDriver(host.fakeHostAdapters());
    const local = localEndpoint({ site: site("c5", 5), nodeName: "n0", privateIp: "127.0.5.10", healthCheckIp: "10.5.0.1", driver });
    const remote = localEndpoint({ site: site("c6", 6), nodeName: "n0", privateIp: "127.0.6.10", healthCheckIp: "10.6.0.1", driver: remoteDriver });
    let seen = [local, remote];
    let brokerUp = true;
    const fakeView: view.EndpointView = {
      synced: Promise.resolve(),
      start: () => undefined,
      stop: () => undefined,
      endpoints: () => new Map(seen.map((e) => [e.cluster_id, e])),
      endpointsOf: (id) => seen.filter((e) => e.cluster_id === id),
    };
    const down = async () => {
      if (!brokerUp) throw new Error("broker unreachable");
    };
    const e = new GatewayEngine({
      site: site("c5", 5),
      nodeName: "n0",
      privateIp: "127.0.5.10",
      healthCheckIp: "10.5.0.1",
      underlayMtu: 1500,
      natDiscovery: { port: 0, sourceFor: async () => undefined },
      view: fakeView,
      sink: { putEndpoint: down, deleteEndpoint: down, putStatus: down, deleteStatus: down },
      driver,
      log,
      version: "test",
    });
    await e.reconcileOnce();
    assert.deepEqual([...(await driver.installedRemotes())], ["127.0.6.10"]);
    seen = [];
    brokerUp = false;
    await assert.rejects(e.reconcileOnce(), /broker unreachable/);
    assert.deepEqual([...(await driver.installedRemotes())], ["127.0.6.10"], "the cable is still there");
  });
});
