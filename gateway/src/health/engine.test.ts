import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type GatewayStatus, parseValue } from "@causeway/api";
import { startBroker } from "@causeway/broker";
import { host, newRegistry, type Site, silentLogger, view } from "@causeway/common";
import { BrokerConnection } from "@causeway/common/broker-client";
import { VxlanCableDriver } from "../cable/vxlan.ts";
import { GatewayEngine, localEndpoint } from "../engine.ts";
import { GatewayMetrics } from "../metrics.ts";
import { FakePingNetwork } from "./fake.ts";

const log = silentLogger();
const site = (id: string, n: number): Site => ({
  clusterId: id,
  clusterCIDRs: [`10.${n}.0.0/16`],
  serviceCIDRs: [],
  cableDriver: "vxlan",
  intraCluster: "vxlan",
  gatewayMode: "active-passive",
  broker: { address: "", tokenFile: "/dev/null" },
  nodes: [{ name: "n0", ip: `198.18.${n}.10`, podCIDR: `10.${n}.0.0/24`, gateway: true }],
  services: [],
});

async function until<T>(f: () => Promise<T | undefined>, ms: number): Promise<{ value: T; tookMs: number }> {
  const t0 = performance.now();
  for (let i = 0; i < ms / 20; i++) {
    const v = await f();
    if (v !== undefined) return { value: v, tookMs: performance.now() - t0 };
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`condition not met within ${ms} ms`);
}

describe("gateway engine with health checks (real broker, fake host and probes)", () => {
  const dir = mkdtempSync(join(tmpdir(), "causeway-health-"));
  const sock = `unix://${join(dir, "broker.sock")}`;
  let broker: Awaited<ReturnType<typeof startBroker>>;
  let c1: BrokerConnection;
  let c2: BrokerConnection;
  before(async () => {
    broker = await startBroker({ listen: [sock], db: join(dir, "broker.db"), adminTokenFile: join(dir, "admin-token"), bookmarkIntervalMs: 200 }, log);
    const admin = new BrokerConnection({ address: sock, token: readFileSync(join(dir, "admin-token"), "utf8").trim() });
    const j1 = await admin.join({ cluster_id: "c1", cluster_cidr: ["10.1.0.0/16"], service_cidr: [], global_cidr: [] });
    const j2 = await admin.join({ cluster_id: "c2", cluster_cidr: ["10.2.0.0/16"], service_cidr: [], global_cidr: [] });
    admin.close();
    c1 = new BrokerConnection({ address: sock, token: j1.token });
    c2 = new BrokerConnection({ address: sock, token: j2.token });
  });
  after(async () => {
    c1?.close();
    c2?.close();
    await broker?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** c2's gateway at the broker (probed through a fake network), and c1's engine on `node` with fakes for the host, flows and probes. */
  async function fixture(node: { name: string; ip: string }, driver: VxlanCableDriver, o: { statusRefreshMs?: number } = {}) {
    const remote = localEndpoint({ site: site("c2", 2), nodeName: "n0", privateIp: "198.18.2.10", healthCheckIp: "10.2.0.1", driver });
    await c2.put("endpoint", "c2", remote.cable_name, remote);
    const net = new FakePingNetwork();
    net.set("10.2.0.1", { kind: "up", rttMs: 3 });
    const registry = newRegistry("test");
    const flows = new host.FakeFlows();
    const metrics = new GatewayMetrics(registry);
    const engine = (statusRefreshMs = o.statusRefreshMs) =>
      new GatewayEngine({
        site: { clusterId: "c1", clusterCIDRs: ["10.1.0.0/16"], serviceCIDRs: [] },
        nodeName: node.name,
        privateIp: node.ip,
        healthCheckIp: "10.1.0.1",
        underlayMtu: 1500,
        natDiscovery: { port: 0, sourceFor: async () => undefined },
        view: new view.BrokerEndpointView(c1, log),
        sink: new view.BrokerGatewaySink(c1, "c1"),
        driver,
        log,
        version: "test",
        healthCheck: { intervalMs: 100, maxPacketLoss: 3, pinger: net.pinger },
        metrics,
        flows,
        ...(statusRefreshMs === undefined ? {} : { statusRefreshMs }),
      });
    const status = async (): Promise<GatewayStatus | undefined> => {
      const r = (await c1.list("gateway")).records.find((x) => x.clusterId === "c1" && x.name === node.name);
      return r && parseValue("gateway", r.valueJson);
    };
    return { remote, net, registry, flows, engine, status, removeRemote: () => c2.delete("endpoint", "c2", remote.cable_name) };
  }

  it("reports probes in the Gateway status and metrics: connected with RTT, error past the threshold, connected again; the flows it carries", async () => {
    const {
      net,
      registry,
      flows,
      engine: make,
      status,
      removeRemote,
    } = await fixture({ name: "n0", ip: "198.18.1.10" }, new VxlanCableDriver(host.fakeHostAdapters()));
    flows.add({ proto: "tcp", state: "ESTABLISHED", src: "10.1.0.5", dst: "10.2.0.7" });
    flows.add({ proto: "udp", src: "10.2.0.9", dst: "10.1.0.5" });
    flows.add({ proto: "tcp", state: "ESTABLISHED", src: "10.1.0.5", dst: "10.1.0.6" });
    const engine = make();
    const connection = async (want: string) => {
      const c = (await status())?.connections.find((x) => x.endpoint.cluster_id === "c2");
      return c?.status === want ? c : undefined;
    };
    engine.start();
    try {
      const up = await until(() => connection("connected"), 3000);
      assert.equal(up.value.usingIP, "198.18.2.10");
      // RTT statistics (from the second reply on) come with the periodic status refresh (every 5 s), or with the next change.
      const withRtt = await until(async () => ((await connection("connected"))?.latencyRTT ? await connection("connected") : undefined), 7000);
      assert.match(withRtt.value.latencyRTT?.average ?? "", /^\d+(\.\d+)?ms$/);
      const metrics = await registry.metrics();
      assert.match(metrics, /causeway_connections\{[^}]*remote_cluster="c2"[^}]*status="connected"[^}]*\} 1/);
      assert.match(metrics, /causeway_connection_latency_seconds\{[^}]*remote_cluster="c2"[^}]*\} 0\.00\d/);
      assert.match(metrics, /causeway_connection_established_timestamp\{[^}]*\} \d{10}/);
      assert.match(metrics, /causeway_gateway_active\{[^}]*\} 1/);
      // The flows to and from c2's subnets (both directions), not the local one.
      assert.match(metrics, /^causeway_gateway_flows(\{[^}]*\})? 2$/m);

      net.set("10.2.0.1", { kind: "drop" });
      const down = await until(() => connection("error"), 3000);
      // Three probes lost in a row (each known one interval after it left), then one status write.
      assert.ok(down.tookMs <= (3 + 1) * 100 + 400, `marked error after ${Math.round(down.tookMs)} ms`);
      assert.match(down.value.statusMessage, /no reply from the remote endpoint's health-check IP 10.2.0.1 to the last 3 probes/);
      assert.match(await registry.metrics(), /causeway_connections\{[^}]*status="error"[^}]*\} 1/);

      net.set("10.2.0.1", { kind: "up", rttMs: 2 });
      await until(() => connection("connected"), 2000);
    } finally {
      await engine.stop();
      await removeRemote();
    }
    assert.equal(net.running, 0, "probes stop with the engine");
    assert.match(await registry.metrics(), /causeway_gateway_active\{[^}]*\} 0/);
    assert.match(await registry.metrics(), /^causeway_gateway_flows(\{[^}]*\})? 0$/m, "a passive gateway carries no flows");
  });

  it("the status says what the gateway carries (cable bytes, flows), renewed by the status refresh alone: a pass's write keeps the last figures", async () => {
    class CountedDriver extends VxlanCableDriver {
      bytes = { rxBytes: 1000, txBytes: 2000 };
      override deviceTraffic() {
        return Promise.resolve(this.bytes);
      }
    }
    const driver = new CountedDriver(host.fakeHostAdapters());
    const { net, registry, flows, engine, status, removeRemote } = await fixture({ name: "n5", ip: "198.18.1.15" }, driver);
    flows.add({ proto: "tcp", state: "ESTABLISHED", src: "10.1.0.5", dst: "10.2.0.7" });
    const withConnection = async (want: string) => {
      const s = await status();
      return s?.connections.find((x) => x.endpoint.cluster_id === "c2")?.status === want ? s : undefined;
    };
    // No refresh within the test: only passes write the status.
    const slow = engine(60_000);
    slow.start();
    try {
      const up = await until(() => withConnection("connected"), 3000);
      assert.deepEqual(up.value.traffic, { rxBytes: 1000, txBytes: 2000, flows: 1 }, "the first pass counts");
      driver.bytes = { rxBytes: 5000, txBytes: 9000 };
      flows.add({ proto: "udp", src: "10.2.0.9", dst: "10.1.0.5" });
      net.set("10.2.0.1", { kind: "drop" });
      const down = await until(() => withConnection("error"), 3000);
      assert.deepEqual(down.value.traffic, { rxBytes: 1000, txBytes: 2000, flows: 1 }, "a pass's write keeps the figures of the last refresh");
      assert.match(await registry.metrics(), /^causeway_gateway_flows(\{[^}]*\})? 2$/m, "the metrics are current");
    } finally {
      await slow.stop();
    }
    const fast = engine(200);
    fast.start();
    try {
      const renewed = await until(async () => {
        const s = await status();
        return s?.traffic?.flows === 2 ? s : undefined;
      }, 2000);
      assert.deepEqual(renewed.value.traffic, { rxBytes: 5000, txBytes: 9000, flows: 2 });
      driver.bytes = { rxBytes: 6000, txBytes: 9500 };
      const again = await until(async () => ((await status())?.traffic?.rxBytes === 6000 ? true : undefined), 2000);
      assert.ok(again.tookMs <= 200 + 500, `renewed after ${Math.round(again.tookMs)} ms (refresh every 200 ms)`);
    } finally {
      await fast.stop();
      await removeRemote();
    }
  });
});
