import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { host, type Site } from "@causeway/common";
import { type Endpoint, remoteGateways, remoteKey, UnknownCableDriverError } from "@causeway/api";
import { CableDrivers, localEndpoint, selectRemotes, VxlanCableDriver, vxlanDesired } from "./index.ts";

const site = (id: string, n: number): Site => ({
  clusterId: id,
  clusterCIDRs: [`10.${n}.0.0/16`],
  serviceCIDRs: [`10.${100 + n}.0.0/16`],
  cableDriver: "vxlan",
  intraCluster: "vxlan",
  gatewayMode: "active-passive",
  broker: { address: "198.18.0.2:7400", tokenFile: "/dev/null" },
  nodes: [{ name: "n0", ip: `198.19.${n}.10`, podCIDR: `10.${n}.0.0/24`, gateway: true }],
  services: [],
});
const driver = new VxlanCableDriver(host.fakeHostAdapters());
const ep = (id: string, n: number) => localEndpoint({ site: site(id, n), nodeName: "n0", privateIp: `198.18.${n}.10`, healthCheckIp: `10.${n}.0.1`, driver });

describe("gateway", () => {
  it("an unknown cable driver is refused with the supported list", () => {
    const drivers = new CableDrivers({ vxlan: () => driver, wireguard: () => driver });
    assert.throws(
      () => drivers.create("ipsec"),
      (e: Error) => e instanceof UnknownCableDriverError && /supported: vxlan, wireguard/.test(e.message),
    );
  });

  it("publishes a Submariner-shaped endpoint", () => {
    const e = ep("c1", 1);
    assert.equal(e.cable_name, "causeway-cable-c1-198-18-1-10");
    assert.deepEqual(e.subnets, ["10.101.0.0/16", "10.1.0.0/16"]);
    assert.equal(e.backend, "vxlan");
  });

  it("skips remotes whose subnets overlap local ones", () => {
    const { cables, skipped } = selectRemotes(ep("c1", 1), [ep("c1", 1), ep("c2", 2), { ...ep("c9", 9), subnets: ["10.1.128.0/17"] }]);
    assert.deepEqual(
      cables.map((c) => c.endpoint.cluster_id),
      ["c2"],
    );
    assert.equal(skipped[0]?.clusterId, "c9");
    const other = selectRemotes(ep("c1", 1), [{ ...ep("c2", 2), backend: "wireguard" as const }]);
    assert.match(other.skipped[0]?.reason ?? "", /uses the wireguard cable driver and this cluster vxlan/);
  });

  it("an active-active remote cluster gets a cable to each of its gateways, keyed apart; an active-passive one to its newest only", () => {
    const aa = (host: string, n: number, slot: number): Endpoint =>
      localEndpoint({ site: site("c2", 2), nodeName: host, privateIp: `198.18.2.${n}`, healthCheckIp: `10.2.${n}.1`, driver, gatewaySlot: slot });
    const ap = (host: string, n: number): Endpoint =>
      localEndpoint({ site: site("c3", 3), nodeName: host, privateIp: `198.18.3.${n}`, healthCheckIp: `10.3.${n}.1`, driver });
    const c2 = [aa("n1", 11, 2), aa("n0", 10, 1)];
    const c3 = [ap("n0", 10), ap("n1", 11)];
    const newest = new Map([
      ["c1", ep("c1", 1)],
      ["c2", c2[0] as Endpoint],
      ["c3", c3[1] as Endpoint],
    ]);
    const remotes = remoteGateways("c1", newest, (id) => (id === "c2" ? c2 : id === "c3" ? c3 : []));
    assert.deepEqual(
      remotes.map((r) => `${r.cluster_id}/${r.hostname}`),
      ["c2/n0", "c2/n1", "c3/n1"],
    );
    const { cables } = selectRemotes(ep("c1", 1), remotes);
    assert.deepEqual(
      cables.map((c) => c.usingIP),
      ["198.18.2.10", "198.18.2.11", "198.18.3.11"],
    );
    assert.deepEqual(remotes.map(remoteKey), [c2[1]?.cable_name, c2[0]?.cable_name, "c3"], "active-active gateways by cable, active-passive by cluster");
  });

  it("vxlan cable: vxlan-tunnel VNI 1000 UDP 4500, 241.x VTEP, table 100 behind rule 100", () => {
    const d = vxlanDesired({ endpoint: ep("c1", 1), underlayMtu: 1500 }, [{ endpoint: ep("c2", 2), usingIP: "198.18.2.10", usingNAT: false }]);
    assert.deepEqual(d.net.links[0], {
      name: "vxlan-tunnel",
      vni: 1000,
      port: 4500,
      local: "198.18.1.10",
      mtu: 1450,
      addr: "241.18.1.10/8",
      mac: "0e:ca:f1:12:01:0a",
    });
    assert.deepEqual(d.net.fdb, [{ dev: "vxlan-tunnel", dst: "198.18.2.10" }]);
    assert.deepEqual(d.net.rules, [{ priority: 100, table: 100 }]);
    assert.deepEqual(
      d.net.routes.map((r) => `${r.dst} via ${r.via} src ${r.src} table ${r.table}`),
      ["10.102.0.0/16 via 241.18.2.10 src 10.1.0.1 table 100", "10.2.0.0/16 via 241.18.2.10 src 10.1.0.1 table 100"],
    );
    assert.deepEqual(vxlanDesired({ endpoint: ep("c1", 1), underlayMtu: 1500 }, []).net.links, []);
  });

  it("vxlan cable on --nattport: the device listens and sends on this gateway's port; a remote on another port gets it in its FDB entry, and the firewall accepts ours", () => {
    const mine = localEndpoint({ site: site("c1", 1), nodeName: "n0", privateIp: "198.18.1.10", healthCheckIp: "10.1.0.1", driver, cablePort: 4502 });
    assert.equal(mine.backend_config["udp-port"], "4502");
    const d = vxlanDesired({ endpoint: mine, underlayMtu: 1500 }, [
      { endpoint: ep("c2", 2), usingIP: "198.18.2.10", usingNAT: false },
      { endpoint: { ...ep("c3", 3), backend_config: { ...ep("c3", 3).backend_config, "udp-port": "4502" } }, usingIP: "198.18.3.10", usingNAT: false },
    ]);
    assert.equal(d.net.links[0]?.port, 4502);
    assert.deepEqual(d.net.fdb, [
      { dev: "vxlan-tunnel", dst: "198.18.2.10", port: 4500 },
      { dev: "vxlan-tunnel", mac: "0e:ca:f1:12:02:0a", dst: "198.18.2.10", port: 4500 },
      { dev: "vxlan-tunnel", dst: "198.18.3.10" },
    ]);
    assert.equal(d.chains[0]?.rules[0]?.match.dport, 4502);
  });

  it("removeDevice (another driver took over) removes only the device (its routes go with it); rule 100 and the chains stay for the driver in use", async () => {
    const a = host.fakeHostAdapters();
    const d = new VxlanCableDriver(a);
    await d.sync({ endpoint: ep("c1", 1), underlayMtu: 1500 }, [{ endpoint: ep("c2", 2), usingIP: "198.18.2.10", usingNAT: false }]);
    assert.equal(a.net.state.links.length, 1);
    const chains = JSON.stringify([...(a.filter.tables.get("filter") ?? new Map())]);
    assert.match(chains, /CAUSEWAY-GW-FORWARD/);
    await d.removeDevice();
    assert.equal(a.net.state.links.length, 0);
    assert.deepEqual(a.net.state.rules, [{ priority: 100, table: 100 }]);
    assert.equal(JSON.stringify([...(a.filter.tables.get("filter") ?? new Map())]), chains);
  });
});
