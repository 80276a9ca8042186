import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Endpoint } from "@causeway/api";
import { host } from "@causeway/common";
import type { LocalCable, RemoteCable } from "./driver.ts";
import { VXLAN_OWNERSHIP, VxlanCableDriver, vxlanDesired } from "./vxlan.ts";

const ep = (cluster: string, host: string, ip: string, config: Record<string, string> = {}): Endpoint => ({
  cluster_id: cluster,
  cable_name: `cable-${cluster}-${host}`,
  healthCheckIP: "",
  hostname: host,
  subnets: [`10.${cluster.slice(1)}.0.0/16`],
  private_ip: ip,
  public_ip: "",
  nat_enabled: false,
  backend: "vxlan",
  backend_config: config,
});
const aa = (cluster: string, host: string, ip: string, slot: number) =>
  ep(cluster, host, ip, { "gateway-mode": "active-active", "gateway-slot": String(slot) });
const cable = (e: Endpoint): RemoteCable => ({ endpoint: e, usingIP: e.private_ip, usingNAT: false });
const local: LocalCable = { endpoint: ep("c1", "n0", "198.18.1.10"), underlayMtu: 1500 };

describe("VXLAN cables to clusters with several active gateways", () => {
  it("a cluster with two active gateways: its subnets through a resilient group over their VTEPs (by slot); a one-gateway cluster as before", () => {
    const d = vxlanDesired(local, [cable(aa("c2", "n0", "198.18.2.10", 1)), cable(aa("c2", "n1", "198.18.2.11", 2)), cable(ep("c3", "n0", "198.18.3.10"))]);
    assert.deepEqual(d.net.nexthops, {
      members: [
        { id: 16001, via: "241.18.2.10", dev: "vxlan-tunnel", onlink: true },
        { id: 16002, via: "241.18.2.11", dev: "vxlan-tunnel", onlink: true },
      ],
      groups: [{ id: 16000, members: [16001, 16002], buckets: 128, idleTimerS: 60 }],
    });
    assert.deepEqual(
      d.net.routes.filter((r) => r.table === 100).map((r) => `${r.dst} ${r.nhid ? `nhid ${r.nhid}` : `via ${r.via}`}`),
      ["10.2.0.0/16 nhid 16000", "10.3.0.0/16 via 241.18.3.10"],
    );
    // c2's flows pinned to the gateway they came from (its VTEP's MAC): replies by mark to table 180 + slot, straight to it.
    assert.deepEqual(
      d.chains.find((c) => c.chain === "CAUSEWAY-GW-PREROUTING")?.rules.map((r) => host.renderRule("P", r)),
      [
        "-A P -i vxlan-tunnel -m mac --mac-source 0e:ca:f1:12:02:0a -j CONNMARK --set-xmark 0x10000000/0xf0000000",
        "-A P -i vxlan-tunnel -m mac --mac-source 0e:ca:f1:12:02:0b -j CONNMARK --set-xmark 0x20000000/0xf0000000",
        "-A P ! -i vxlan-tunnel -m connmark ! --mark 0x0/0xf0000000 -j CONNMARK --restore-mark --nfmask 0xf0000000 --ctmask 0xf0000000",
      ],
    );
    assert.deepEqual(d.net.rules, [
      { priority: 100, table: 100 },
      { priority: 91, table: 181, fwmark: { mark: 0x10000000, mask: 0xf0000000 } },
      { priority: 91, table: 182, fwmark: { mark: 0x20000000, mask: 0xf0000000 } },
    ]);
    assert.deepEqual(
      d.net.routes.filter((r) => r.table !== 100).map((r) => `${r.dst} via ${r.via} table ${r.table}`),
      ["10.2.0.0/16 via 241.18.2.10 table 181", "10.2.0.0/16 via 241.18.2.11 table 182"],
    );
    // No active-active remote: nothing pinned.
    const plain = vxlanDesired(local, [cable(ep("c3", "n0", "198.18.3.10"))]);
    assert.deepEqual([plain.net.rules.length, plain.chains.some((c) => c.chain === "CAUSEWAY-GW-PREROUTING")], [1, false]);
    assert.deepEqual(
      d.net.fdb.map((e) => e.dst),
      ["198.18.2.10", "198.18.2.11", "198.18.3.10"],
    );
  });

  it("globalnet: what goes to a remote gateway's own egress address (declared in its Endpoint) goes to that gateway", () => {
    const withEgress = (e: Endpoint, ip: string) => ({ ...e, subnets: ["242.1.0.0/16"], backend_config: { ...e.backend_config, "global-egress-ip": ip } });
    const d = vxlanDesired(local, [
      cable(withEgress(aa("c2", "n0", "198.18.2.10", 1), "242.1.0.2")),
      cable(withEgress(aa("c2", "n1", "198.18.2.11", 2), "242.1.0.3")),
    ]);
    assert.deepEqual(
      d.net.routes.filter((r) => r.table === 100).map((r) => `${r.dst} ${r.nhid ? `nhid ${r.nhid}` : `via ${r.via}`}`),
      ["242.1.0.0/16 nhid 16000", "242.1.0.2/32 via 241.18.2.10", "242.1.0.3/32 via 241.18.2.11"],
    );
  });

  it("a draining remote gateway (withdrawn, its cluster has another): its FDB entry stays; no group member, route or pin is its, but for its globalnet egress address", () => {
    const drained = { ...cable(aa("c2", "n0", "198.18.2.10", 1)), draining: true };
    drained.endpoint.backend_config["global-egress-ip"] = "242.1.0.2";
    const d = vxlanDesired(local, [cable(aa("c2", "n1", "198.18.2.11", 2)), drained]);
    assert.deepEqual(
      d.net.fdb.map((e) => e.dst),
      ["198.18.2.11", "198.18.2.10"],
    );
    assert.deepEqual(
      d.net.nexthops?.members.map((m) => m.via),
      ["241.18.2.11"],
    );
    assert.deepEqual(
      d.net.routes.map((r) => `${r.dst} table ${r.table} ${r.nhid ? `nhid ${r.nhid}` : `via ${r.via}`}`),
      ["242.1.0.2/32 table 100 via 241.18.2.10", "10.2.0.0/16 table 100 nhid 16000", "10.2.0.0/16 table 182 via 241.18.2.11"],
    );
    assert.deepEqual(
      d.net.rules.map((r) => r.table),
      [100, 182],
    );
    assert.doesNotMatch(JSON.stringify(d.chains), /0e:ca:f1:12:02:0a/);
  });

  it("through the host (fakes): a gateway of the remote cluster going changes only the group's members; a second pass changes nothing", async () => {
    const a = host.fakeHostAdapters();
    const drv = new VxlanCableDriver(a);
    const both = [cable(aa("c2", "n0", "198.18.2.10", 1)), cable(aa("c2", "n1", "198.18.2.11", 2))];
    const states = await drv.sync(local, both);
    assert.deepEqual(
      states.map((s) => `${s.clusterId} ${s.status}`),
      ["c2 connected", "c2 connected"],
    );
    assert.deepEqual(
      a.net.state.routes.filter((x) => x.table === 100).map((x) => x.nhid),
      [16000],
    );
    const r = new host.HostReconciler(a, VXLAN_OWNERSHIP);
    const again = await r.reconcile(vxlanDesired(local, both));
    assert.deepEqual([again.netOps, again.filterChanged], [[], false]);
    await drv.sync(local, [both[1] as RemoteCable]);
    assert.deepEqual(a.net.state.nexthops?.groups, [{ id: 16000, members: [16002], buckets: 128, idleTimerS: 60 }]);
    assert.deepEqual(
      a.net.state.routes.map((x) => `${x.table} ${x.nhid ?? x.via}`),
      ["100 16000", "182 241.18.2.11"],
    );
    await drv.cleanup();
    assert.deepEqual([a.net.state.routes, a.net.state.nexthops], [[], { members: [], groups: [] }]);
  });
});
