import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Endpoint } from "@causeway/api";
import { host } from "@causeway/common";
import type { LocalCable, RemoteCable } from "./driver.ts";
import { VxlanCableDriver, vxlanDesired } from "./vxlan.ts";

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
      d.net.routes.map((r) => `${r.dst} ${r.nhid ? `nhid ${r.nhid}` : `via ${r.via}`}`),
      ["10.2.0.0/16 nhid 16000", "10.3.0.0/16 via 241.18.3.10"],
    );
    assert.deepEqual(
      d.net.fdb.map((e) => e.dst),
      ["198.18.2.10", "198.18.2.11", "198.18.3.10"],
    );
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
      a.net.state.routes.map((r) => r.nhid),
      [16000],
    );
    const r = new host.HostReconciler(a, {
      net: { links: ["vxlan-tunnel"], tables: [100], rulePriorities: [100], nexthopIds: { from: 16000, to: 19999 } },
      chains: [],
      sets: [],
    });
    assert.deepEqual((await r.reconcile({ ...vxlanDesired(local, both), chains: [] })).netOps, []);
    await drv.sync(local, [both[1] as RemoteCable]);
    assert.deepEqual(a.net.state.nexthops?.groups, [{ id: 16000, members: [16002], buckets: 128, idleTimerS: 60 }]);
    assert.deepEqual(
      a.net.state.routes.map((x) => x.nhid),
      [16000],
    );
    await drv.cleanup();
    assert.deepEqual([a.net.state.routes, a.net.state.nexthops], [[], { members: [], groups: [] }]);
  });
});
