/**
 * Globalnet on the gateway: the translation table's spec from exports and endpoints (pure), and
 * the engine under a globalnet broker (real broker in-process, fake host): its Endpoint carries
 * the global CIDR and the global health-check address, the table follows the cluster's exports,
 * the metrics count allocated and free addresses, and stepping down removes the table.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type Endpoint, type ServiceExport } from "@causeway/api";
import { host, newRegistry, silentLogger, view } from "@causeway/common";
import type { BrokerConnection } from "@causeway/common/broker-client";
import { brokerFixture } from "./brokerfixture.test.ts";
import { VxlanCableDriver } from "./cable/vxlan.ts";
import { dropCables, type GatewayDeps, GatewayEngine, localEndpoint } from "./engine.ts";
import { TranslationError } from "./errors.ts";
import { BrokerGlobalnetSource, GlobalnetMetrics, globalNatSpec, namespaceEgressOf } from "./globalnet.ts";

const log = silentLogger();

/** `f`'s first defined answer, asked every 20 ms for 5 s at most. */
async function until<T>(what: string, f: () => Promise<T | undefined>): Promise<T> {
  const end = Date.now() + 5000;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`${what}: not within 5 s`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
const at = "2026-12-04T10:00:00.000Z";
const web = (globalIp?: string): ServiceExport => ({
  namespace: "default",
  name: "web",
  type: "ClusterSetIP",
  ip: "10.96.0.11",
  ...(globalIp ? { globalIp } : {}),
  ports: [{ name: "http", protocol: "TCP", port: 80, targetPort: 8080 }],
  endpoints: [
    { ip: "10.244.1.10", ready: true },
    { ip: "10.244.2.10", ready: false },
  ],
  exportedAt: at,
});
const db: ServiceExport = {
  namespace: "default",
  name: "db",
  type: "Headless",
  ip: "",
  ports: [{ protocol: "TCP", port: 5432 }],
  endpoints: [
    { ip: "10.244.1.20", hostname: "db-0", ready: true, globalIp: "242.0.0.40" },
    { ip: "10.244.2.20", hostname: "db-1", ready: false },
  ],
  exportedAt: at,
};
const remote = (id: string, subnet: string): Endpoint => ({
  cluster_id: id,
  cable_name: `causeway-cable-${id}-198-18-2-10`,
  healthCheckIP: "242.1.0.1",
  hostname: "n0",
  subnets: [subnet],
  private_ip: "198.18.2.10",
  public_ip: "",
  nat_enabled: false,
  backend: "vxlan",
  backend_config: {},
});

describe("globalNatSpec", () => {
  it("egress to the other clusters' global CIDRs from the pool; ingress to ready endpoints on target ports; headless endpoints both ways; the health-check address to the CNI address", () => {
    const spec = globalNatSpec({
      globalCidr: "242.0.0.0/16",
      clusterId: "c1",
      healthCheckIp: "10.244.0.1",
      endpoints: new Map([
        ["c1", remote("c1", "242.0.0.0/16")],
        ["c2", remote("c2", "242.1.0.0/16")],
      ]),
      exports: [web("242.0.0.30"), db, web()],
    });
    assert.ok(spec);
    assert.deepEqual(spec.remote, ["242.1.0.0/16"]);
    assert.deepEqual(spec.egressIPs, ["242.0.0.2", "242.0.0.3", "242.0.0.4", "242.0.0.5", "242.0.0.6", "242.0.0.7", "242.0.0.8", "242.0.0.9"]);
    // The export still without a global IP translates nothing.
    assert.deepEqual(spec.services, [
      { key: "default/web", ip: "242.0.0.30", ports: [{ protocol: "TCP", port: 80, targets: [{ ip: "10.244.1.10", port: 8080 }] }] },
    ]);
    assert.deepEqual(spec.hosts, [
      { global: "242.0.0.1", local: "10.244.0.1", key: "health-check", egress: false },
      { global: "242.0.0.40", local: "10.244.1.20", key: "default/db", egress: true },
    ]);
    const nft = host.renderGlobalNat(spec);
    assert.match(nft, /242\.0\.0\.30 \. tcp \. 80 : goto svc-242-0-0-30-tcp-80/);
    assert.match(nft, /dnat ip to numgen random mod 1 map \{ 0 : 10\.244\.1\.10 \. 8080 \}/);
    assert.match(nft, /elements = \{ 10\.244\.1\.20 : 242\.0\.0\.40 \}/);
    assert.match(nft, /snat ip to 242\.0\.0\.2-242\.0\.0\.9/);
    assert.match(nft, /type nat hook postrouting priority srcnat - 20/);
    assert.match(nft, /ip daddr 242\.0\.0\.0\/16 meta l4proto tcp reject with tcp reset/);
  });

  it("an active-active gateway leaves with its slot's egress address alone, the rest as any gateway's; a slot past the egress addresses is refused, saying so", () => {
    const o = {
      globalCidr: "242.0.0.0/16",
      clusterId: "c1",
      healthCheckIp: "10.244.0.1",
      endpoints: new Map([["c2", remote("c2", "242.1.0.0/16")]]),
      exports: [web("242.0.0.30"), db],
    };
    const any = globalNatSpec(o);
    const second = globalNatSpec({ ...o, gatewaySlot: 2 });
    assert.deepEqual(second?.egressIPs, ["242.0.0.3"]);
    assert.deepEqual(globalNatSpec({ ...o, gatewaySlot: 8 })?.egressIPs, ["242.0.0.9"]);
    assert.deepEqual({ ...second, egressIPs: [] }, { ...any, egressIPs: [] });
    assert.match(host.renderGlobalNat(second ?? any ?? assert.fail()), /snat ip to 242\.0\.0\.3-242\.0\.0\.3/);
    assert.throws(
      () => globalNatSpec({ ...o, gatewaySlot: 9 }),
      (e) => e instanceof TranslationError && /slot 9 has no egress address of its own: .* at most 8 active-active gateways/.test(e.message),
    );
  });
});

describe("namespaces' own egress pools (GlobalEgressIP)", () => {
  const object = (name: string, created: string, spec: { numberOfIPs?: number; podSelector?: { matchLabels: Record<string, string> } }) => ({
    metadata: { name, namespace: "tenant", creationTimestamp: created },
    spec,
  });
  const pod = (ip: string, labels: Record<string, string>, o: { namespace?: string; hostNetwork?: boolean } = {}) => ({
    metadata: { namespace: o.namespace ?? "tenant", labels },
    spec: { hostNetwork: o.hostNetwork ?? false },
    status: { podIP: ip },
  });

  it("selected pods of the namespace leave with its pool (others, other namespaces' and host-network pods do not); a pod two select keeps the older's; the table's outbound map has them after headless endpoints", () => {
    const objects = [
      object("new", "2026-02-01T00:00:00Z", {}),
      object("old", "2026-01-01T00:00:00Z", { numberOfIPs: 2, podSelector: { matchLabels: { app: "a" } } }),
    ];
    const pods = [
      pod("10.244.1.10", { app: "a" }),
      pod("10.244.1.11", { app: "b" }),
      pod("10.244.1.12", { app: "a" }, { namespace: "other" }),
      pod("10.0.0.5", { app: "a" }, { hostNetwork: true }),
    ];
    const { pools, egress } = namespaceEgressOf("242.3.0.0/16", objects, pods);
    const old = pools.get("tenant/old")?.ips ?? [];
    const fresh = pools.get("tenant/new")?.ips ?? [];
    assert.equal(old.length, 2);
    assert.equal(fresh.length, 1);
    const by = new Map(egress.map((e) => [e.local, e.global]));
    assert.ok(old.includes(by.get("10.244.1.10") ?? ""), "selected by both: the older object's pool");
    assert.equal(by.get("10.244.1.11"), fresh[0], "selected only by the selector-less one");
    assert.equal(by.has("10.244.1.12"), false);
    assert.equal(by.has("10.0.0.5"), false);
    const spec = globalNatSpec({
      globalCidr: "242.3.0.0/16",
      clusterId: "c1",
      healthCheckIp: "10.244.0.1",
      endpoints: new Map(),
      exports: [],
      egress,
    });
    const outbound = host.renderGlobalNat(spec);
    assert.match(outbound, new RegExp(`10\\.244\\.1\\.10 : ${(by.get("10.244.1.10") ?? "").replaceAll(".", "\\.")}`));
  });
});

/** A gateway engine's dependencies for cluster `clusterId` (kind's CIDRs) on node n0 of a fake host, its endpoints and exports from `brokerView`. */
function engineDeps(clusterId: string, conn: BrokerConnection, brokerView: view.BrokerEndpointView, globalnet: GatewayDeps["globalnet"]): GatewayDeps {
  return {
    site: { clusterId, clusterCIDRs: ["10.244.0.0/16"], serviceCIDRs: ["10.96.0.0/12"] },
    nodeName: "n0",
    privateIp: "127.0.1.10",
    healthCheckIp: "10.244.0.1",
    underlayMtu: 1500,
    view: brokerView,
    sink: new view.BrokerGatewaySink(conn, clusterId),
    driver: new VxlanCableDriver(host.fakeHostAdapters()),
    natDiscovery: { port: 0, sourceFor: async () => undefined },
    log,
    version: "test",
    globalnet,
  };
}

describe("gateway engine under globalnet (real broker, fake host)", () => {
  const broker = brokerFixture("causeway-globalnet-", { globalnet: true });

  it("publishes its global CIDR, translates its exports, counts addresses, and drops the table when it steps down", async () => {
    const admin = broker.admin();
    const kind = (id: string) => ({ cluster_id: id, cluster_cidr: ["10.244.0.0/16"], service_cidr: ["10.96.0.0/12"], global_cidr: [] });
    const mine = broker.connect((await admin.join(kind("c1"))).token);
    const theirs = broker.connect((await admin.join(kind("c2"))).token);
    const global = new Map(
      (await admin.list("cluster")).records.map((r) => [r.clusterId, (JSON.parse(r.valueJson) as { global_cidr: string[] }).global_cidr[0]]),
    );
    const [g1, g2] = [global.get("c1") ?? "", global.get("c2") ?? ""];
    assert.ok(g1 && g2 && g1 !== g2);
    await theirs.put("endpoint", "c2", remote("c2", g2).cable_name, remote("c2", g2));
    await mine.put("export", "c1", "default.web", web(g1.replace(/0\.0\/16$/, "0.30")));

    const registry = newRegistry("causeway-gateway");
    const nat = new host.FakeGlobalNat();
    const brokerView = new view.BrokerEndpointView(mine, log, ["endpoint", "cluster", "export"]);
    const deps = engineDeps("c1", mine, brokerView, { source: new BrokerGlobalnetSource(brokerView, "c1"), nat, metrics: new GlobalnetMetrics(registry) });
    const engine = new GatewayEngine(deps);
    engine.start();
    try {
      const ep = await until("c1's endpoint at the broker", async () => {
        const r = (await admin.list("endpoint")).records.find((x) => x.clusterId === "c1");
        return r ? (JSON.parse(r.valueJson) as Endpoint) : undefined;
      });
      assert.deepEqual(ep.subnets, [g1], "the cluster is known by its global CIDR only");
      assert.equal(ep.healthCheckIP, g1.replace(/0\.0\/16$/, "0.1"));
      assert.equal(localEndpoint(deps, "", 4490, g1).subnets[0], g1);
      const spec = await until("the table translates web", async () => (nat.spec?.services.length === 1 ? nat.spec : undefined));
      assert.deepEqual(spec.remote, [g2]);
      const metrics = await registry.getSingleMetricAsString("causeway_globalnet_ips");
      // A /16 has 61,429 ingress addresses (not its first ten, its last sixteenth — namespaces' egress pools — or its last).
      assert.match(metrics, /causeway_globalnet_ips\{state="allocated",[^}]*\} 1\n/);
      assert.match(metrics, /causeway_globalnet_ips\{state="free",[^}]*\} 61428/);
      await mine.delete("export", "c1", "default.web");
      await until("web untranslated", async () => (nat.spec && nat.spec.services.length === 0 ? true : undefined));
      assert.match(await registry.getSingleMetricAsString("causeway_globalnet_ips"), /state="allocated",[^}]*\} 0\n/);
    } finally {
      await engine.stop();
    }
    await dropCables(deps);
    assert.equal(nat.spec, undefined, "a gateway that steps down keeps no table");
  });
  it("a table already on the host (a restarted gateway) is kept as found until the exports are known, then made the exports'", async () => {
    const admin = broker.admin();
    const kind = (id: string) => ({ cluster_id: id, cluster_cidr: ["10.244.0.0/16"], service_cidr: ["10.96.0.0/12"], global_cidr: [] });
    const mine = broker.connect((await admin.join(kind("c5"))).token);
    const g5 =
      (await admin.list("cluster")).records
        .map((r) => JSON.parse(r.valueJson) as { cluster_id: string; global_cidr: string[] })
        .find((c) => c.cluster_id === "c5")?.global_cidr[0] ?? "";
    const brokerView = new view.BrokerEndpointView(mine, log, ["endpoint", "cluster", "export"]);
    const source = new BrokerGlobalnetSource(brokerView, "c5");
    let known = false;
    const gated = { sources: source.sources, globalCidr: () => source.globalCidr(), exports: () => (known ? source.exports() : []), exportsKnown: () => known };
    // What the previous process left: web translated.
    const nat = new host.FakeGlobalNat();
    const found = globalNatSpec({
      globalCidr: g5,
      clusterId: "c5",
      healthCheckIp: "10.244.0.1",
      endpoints: new Map(),
      exports: [web(g5.replace(/0\.0\/16$/, "0.30"))],
    });
    await nat.apply(found);
    const deps = engineDeps("c5", mine, brokerView, { source: gated, nat });
    const engine = new GatewayEngine(deps);
    engine.start();
    try {
      await until("a pass done", async () => (engine.loop.passes > 1 ? true : undefined));
      assert.equal(nat.spec?.services.length, 1, "the found table keeps web while the exports are unknown");
      known = true;
      engine.loop.trigger();
      await until("the table made the exports' (none)", async () => (nat.spec?.services.length === 0 ? true : undefined));
    } finally {
      await engine.stop();
    }
  });
});
