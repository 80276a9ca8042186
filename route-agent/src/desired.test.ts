import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Endpoint } from "@causeway/api";
import { host, type SiteNode } from "@causeway/common";
import { desiredState, OWNERSHIP, type RouteAgentInput, withClustersetRoutes } from "./index.ts";

const nodes: SiteNode[] = [0, 1, 2].map((k) => ({ name: `n${k}`, ip: `198.19.1.${10 + k}`, podCIDR: `10.1.${k}.0/24`, gateway: k === 0 }));
const ep = (id: string, n: number, hostname = "n0", ip = `198.18.${n}.10`): Endpoint => ({
  cluster_id: id,
  cable_name: `causeway-cable-${id}`,
  healthCheckIP: `10.${n}.0.1`,
  hostname,
  subnets: [`10.${n}.0.0/16`, `10.${100 + n}.0.0/16`],
  private_ip: ip,
  public_ip: "",
  nat_enabled: false,
  backend: "vxlan",
  backend_config: {},
});
const input = (over: Partial<RouteAgentInput> = {}): RouteAgentInput => ({
  node: nodes[1] as SiteNode,
  nodes,
  localCidrs: ["10.1.0.0/16", "10.101.0.0/16"],
  localEndpoints: [ep("c1", 1)],
  remoteEndpoints: [ep("c2", 2)],
  underlay: { dev: "eth0", mtu: 1500, prefix: 24 },
  ...over,
});

describe("route agent desired state", () => {
  it("non-gateway node: vx-causeway towards the gateway, routes for every remote CIDR", () => {
    const d = desiredState(input());
    assert.deepEqual(d.net.links, [
      { name: "vx-causeway", vni: 100, port: 4800, local: "198.19.1.11", remote: "198.19.1.10", mtu: 1450, addr: "240.19.1.11/8", mac: "0e:ca:f0:13:01:0b" },
    ]);
    assert.deepEqual(
      d.net.routes.map((r) => `${r.dst} via ${r.via} dev ${r.dev} table ${r.table}`),
      ["10.102.0.0/16 via 240.19.1.10 dev vx-causeway table 150", "10.2.0.0/16 via 240.19.1.10 dev vx-causeway table 150"],
    );
    assert.deepEqual(d.net.rules, [{ priority: 150, table: 150 }]);
    assert.deepEqual(d.sets.get("CAUSEWAY-REMOTE"), ["10.102.0.0/16", "10.2.0.0/16"]);
  });

  it("a remote subnet overlapping this cluster's own CIDRs is never routed (globalnet: only global CIDRs cross)", () => {
    const overlapping = { ...ep("c2", 2), subnets: ["10.1.0.0/16", "242.1.0.0/16"] };
    const d = desiredState(input({ remoteEndpoints: [overlapping] }));
    assert.deepEqual(
      d.net.routes.map((r) => r.dst),
      ["242.1.0.0/16"],
    );
    assert.deepEqual(d.sets.get("CAUSEWAY-REMOTE"), ["242.1.0.0/16"]);
  });

  it("gateway node: terminates vx-causeway for every other node, routes nothing itself", () => {
    const d = desiredState(input({ node: nodes[0] as SiteNode }));
    assert.equal(d.net.links[0]?.remote, undefined);
    assert.deepEqual(
      d.net.fdb.map((e) => e.dst),
      ["198.19.1.11", "198.19.1.12"],
    );
    assert.deepEqual(d.net.routes, []);
    assert.deepEqual(d.net.rules, []);
  });

  it("the source guard (nftables identity SNAT) covers the local and remote CIDRs, on every node and without a gateway too", () => {
    for (const over of [{}, { node: nodes[0] as SiteNode }, { localEndpoints: [] }]) {
      assert.deepEqual(desiredState(input(over)).natGuard, { local: ["10.1.0.0/16", "10.101.0.0/16"], remote: ["10.102.0.0/16", "10.2.0.0/16"] });
    }
    assert.equal(OWNERSHIP.natGuard, true);
    // Each table and rule priority has one use (a pinning table shared with another would route by the wrong one).
    assert.equal(new Set(OWNERSHIP.net.tables).size, OWNERSHIP.net.tables.length);
    assert.equal(new Set(OWNERSHIP.net.rulePriorities).size, OWNERSHIP.net.rulePriorities.length);
  });

  it("no gateway or no remote cluster: nothing to steer", () => {
    assert.deepEqual(desiredState(input({ localEndpoints: [] })).net.links, []);
    assert.deepEqual(desiredState(input({ remoteEndpoints: [] })).net.routes, []);
  });

  it("cross-cluster traffic is exempt from masquerade, accepted in FORWARD, MSS-clamped; cheap matches first", () => {
    const d = desiredState(input());
    const render = (table: string) => d.chains.find((c) => c.table === table && c.hook !== "INPUT")?.rules.map((r) => host.renderRule("X", r));
    assert.deepEqual(render("nat"), [
      "-A X -m set --match-set CAUSEWAY-REMOTE dst -m set --match-set CAUSEWAY-LOCAL src -j ACCEPT",
      "-A X -m set --match-set CAUSEWAY-REMOTE src -m set --match-set CAUSEWAY-LOCAL dst -j ACCEPT",
    ]);
    // vx-causeway traffic is accepted by interface before any set lookup
    assert.deepEqual(render("filter"), [
      "-A X -o vx-causeway -j ACCEPT",
      "-A X -i vx-causeway -j ACCEPT",
      "-A X -m set --match-set CAUSEWAY-REMOTE src -m set --match-set CAUSEWAY-LOCAL dst -j ACCEPT",
      "-A X -m set --match-set CAUSEWAY-REMOTE dst -m set --match-set CAUSEWAY-LOCAL src -j ACCEPT",
    ]);
    // the SYN test comes before the sets: data packets cost no set lookup in mangle
    assert.deepEqual(render("mangle"), [
      "-A X -p tcp -m tcp --tcp-flags SYN,RST SYN -m set --match-set CAUSEWAY-REMOTE dst -m set --match-set CAUSEWAY-LOCAL src -j TCPMSS --clamp-mss-to-pmtu",
      "-A X -p tcp -m tcp --tcp-flags SYN,RST SYN -m set --match-set CAUSEWAY-REMOTE src -m set --match-set CAUSEWAY-LOCAL dst -j TCPMSS --clamp-mss-to-pmtu",
    ]);
  });

  it("direct mode: plain routes via the gateway's node IP, no vx-causeway anywhere", () => {
    const d = desiredState(input({ intraCluster: "direct" }));
    assert.deepEqual(d.net.links, []);
    assert.deepEqual(
      d.net.routes.map((r) => `${r.dst} via ${r.via} dev ${r.dev} table ${r.table}${r.onlink ? " onlink" : ""}`),
      ["10.102.0.0/16 via 198.19.1.10 dev eth0 table 150", "10.2.0.0/16 via 198.19.1.10 dev eth0 table 150"],
    );
    assert.deepEqual(d.net.rules, [{ priority: 150, table: 150 }]);
    assert.ok(!d.chains.some((c) => c.rules.some((r) => r.match.in === "vx-causeway" || r.match.out === "vx-causeway")));
    const gw = desiredState(input({ intraCluster: "direct", node: nodes[0] as SiteNode }));
    assert.deepEqual([gw.net.links, gw.net.routes, gw.net.rules, gw.net.fdb], [[], [], [], []]);
  });

  it("several active gateways (active-active): a resilient next-hop group over their VTEPs by slot, FDB entries to each, flows hashed on their ports", () => {
    const aa = (hostname: string, slot: number) => ({
      ...ep("c1", 1, hostname),
      backend_config: { "gateway-mode": "active-active", "gateway-slot": String(slot) },
    });
    const gws = [aa("n2", 1), aa("n0", 3)];
    const d = desiredState(input({ localEndpoints: gws }));
    assert.equal(d.net.links[0]?.remote, undefined, "no point-to-point device: FDB entries to each gateway");
    assert.deepEqual(
      d.net.fdb.map((e) => e.dst),
      ["198.19.1.12", "198.19.1.10"],
    );
    assert.deepEqual(d.net.nexthops, {
      members: [
        { id: 15001, via: "240.19.1.12", dev: "vx-causeway", onlink: true },
        { id: 15003, via: "240.19.1.10", dev: "vx-causeway", onlink: true },
      ],
      groups: [{ id: 15000, members: [15001, 15003], buckets: 128, idleTimerS: 60 }],
    });
    assert.deepEqual(
      d.net.routes.filter((r) => r.table === 150).map((r) => `${r.dst} nhid ${r.nhid} dev ${r.dev} table ${r.table}`),
      ["10.102.0.0/16 nhid 15000 dev vx-causeway table 150", "10.2.0.0/16 nhid 15000 dev vx-causeway table 150"],
    );
    assert.equal(d.sysctls.get("net.ipv4.fib_multipath_hash_policy"), "1");
    // Pinned: a flow that came through a gateway (its VTEP's MAC) is marked with its slot; replies restore the mark and take its table.
    const pin = d.chains.find((c) => c.chain === "CAUSEWAY-PREROUTING");
    assert.deepEqual(
      pin?.rules.map((r) => host.renderRule("P", r)),
      [
        "-A P -i vx-causeway -m mac --mac-source 0e:ca:f0:13:01:0c -j CONNMARK --set-xmark 0x1000000/0xf000000",
        "-A P -i vx-causeway -m mac --mac-source 0e:ca:f0:13:01:0a -j CONNMARK --set-xmark 0x3000000/0xf000000",
        "-A P ! -i vx-causeway -m connmark ! --mark 0x0/0xf000000 -j CONNMARK --restore-mark --nfmask 0xf000000 --ctmask 0xf000000",
      ],
    );
    assert.deepEqual(d.net.rules, [
      { priority: 150, table: 150 },
      { priority: 90, table: 161, fwmark: { mark: 0x1000000, mask: 0xf000000 } },
      { priority: 90, table: 163, fwmark: { mark: 0x3000000, mask: 0xf000000 } },
    ]);
    assert.deepEqual(
      d.net.routes.filter((r) => r.table !== 150).map((r) => `${r.dst} via ${r.via} table ${r.table}`),
      [
        "10.102.0.0/16 via 240.19.1.12 table 161",
        "10.2.0.0/16 via 240.19.1.12 table 161",
        "10.102.0.0/16 via 240.19.1.10 table 163",
        "10.2.0.0/16 via 240.19.1.10 table 163",
      ],
    );
    // A gateway node carries its own pods' flows: no routes, vx-causeway to every other node.
    const onGw = desiredState(input({ node: nodes[2] as SiteNode, localEndpoints: gws }));
    assert.deepEqual([onGw.net.routes.filter((r) => r.table === 150), onGw.net.nexthops], [[], undefined]);
    // …and pins to the other gateway only: flows through itself leave through its own cables.
    assert.deepEqual(
      onGw.net.rules.filter((r) => r.priority === 90).map((r) => r.table),
      [163],
    );
    // …and hands what comes from the remote clusters to the other nodes' pods through vx-causeway (so they can tell it sent it).
    assert.deepEqual(
      onGw.net.rules.filter((r) => r.priority === 95).map((r) => `from ${r.src} table ${r.table}`),
      ["from 10.102.0.0/16 table 159", "from 10.2.0.0/16 table 159"],
    );
    assert.deepEqual(
      onGw.net.routes.filter((r) => r.table === 159).map((r) => `${r.dst} via ${r.via} dev ${r.dev}`),
      ["10.1.0.0/24 via 240.19.1.10 dev vx-causeway", "10.1.1.0/24 via 240.19.1.11 dev vx-causeway"],
    );
    // A node that is no gateway hands nothing over.
    assert.ok(!d.net.rules.some((r) => r.priority === 95));
    // Direct mode: the group over the gateways' node IPs on the underlay.
    const direct = desiredState(input({ intraCluster: "direct", localEndpoints: gws }));
    assert.deepEqual(
      direct.net.nexthops?.members.map((m) => `${m.id} via ${m.via} dev ${m.dev}${m.onlink ? " onlink" : ""}`),
      ["15001 via 198.19.1.12 dev eth0", "15003 via 198.19.1.10 dev eth0"],
    );
    // One active-active gateway left: still the group (of one), the same device: gateways coming and going change only the members.
    const one = desiredState(input({ localEndpoints: [aa("n2", 1)] }));
    assert.deepEqual([one.net.nexthops?.groups[0]?.members, one.net.routes[0]?.nhid, one.net.links[0]?.remote], [[15001], 15000, undefined]);
    // One active-passive gateway: plain routes, a point-to-point device, the hash policy left as it is.
    const ap = desiredState(input());
    assert.deepEqual(
      [ap.net.nexthops, ap.net.routes[0]?.via, ap.net.links[0]?.remote, ap.sysctls.has("net.ipv4.fib_multipath_hash_policy")],
      [undefined, "240.19.1.10", "198.19.1.10", false],
    );
  });

  it("direct mode refuses a gateway that is not on the node's subnet, naming both and the fix", () => {
    assert.throws(
      () => desiredState(input({ intraCluster: "direct", underlay: { dev: "eth0", mtu: 1500, prefix: 32 } })),
      (e: Error) =>
        e.name === "GatewayNotOnLinkError" &&
        e.message.includes("n0 (198.19.1.10)") &&
        e.message.includes("n1 (198.19.1.11/32 on eth0)") &&
        e.message.includes('use intraCluster "vxlan"'),
    );
  });

  it("switching vxlan → direct removes vx-causeway and re-points the routes", async () => {
    const a = host.fakeHostAdapters();
    const r = new host.HostReconciler(a, OWNERSHIP);
    await r.reconcile(desiredState(input()));
    const res = await r.reconcile(desiredState(input({ intraCluster: "direct" })));
    assert.ok(res.netOps.some((o) => o.op === "link-del"));
    assert.deepEqual(a.net.state.links, []);
    assert.ok(a.net.state.routes.every((x) => x.via === "198.19.1.10" && x.dev === "eth0"));
  });
});

describe("route agent plans through the reconciler (fakes)", () => {
  const setup = () => {
    const a = host.fakeHostAdapters();
    return { a, r: new host.HostReconciler(a, OWNERSHIP) };
  };

  it("add, resync, add a cluster, change gateway, remove a cluster, remove all", async () => {
    const { a, r } = setup();
    const first = await r.reconcile(desiredState(input()));
    assert.deepEqual(
      first.netOps.map((o) => o.op),
      ["link-add", "addr-add", "rule-add", "route-replace", "route-replace"],
    );
    // resync with nothing changed: no writes at all
    const again = await r.reconcile(desiredState(input()));
    assert.deepEqual(again.netOps, []);
    assert.equal(again.filterChanged, false);
    assert.equal(a.filter.scripts.length, 1);
    // a third cluster joins: two routes, one set update, no rule rewrite
    const three = await r.reconcile(desiredState(input({ remoteEndpoints: [ep("c2", 2), ep("c3", 3)] })));
    assert.deepEqual(
      three.netOps.map((o) => o.op),
      ["route-replace", "route-replace"],
    );
    assert.equal(three.filterChanged, false);
    assert.deepEqual(a.sets.sets.get("CAUSEWAY-REMOTE")?.size, 4);
    // the gateway moves to n2: vx-causeway is re-created towards it, routes follow
    const moved = await r.reconcile(desiredState(input({ localEndpoints: [ep("c1", 1, "n2")], remoteEndpoints: [ep("c2", 2), ep("c3", 3)] })));
    assert.equal(moved.netOps.filter((o) => o.op === "link-del").length, 1);
    assert.ok(moved.netOps.every((o) => o.op !== "route-replace" || o.route.via === "240.19.1.12"));
    // c2 leaves: exactly its two routes go
    const left = await r.reconcile(desiredState(input({ localEndpoints: [ep("c1", 1, "n2")], remoteEndpoints: [ep("c3", 3)] })));
    assert.deepEqual(
      left.netOps.map((o) => (o.op === "route-del" ? o.route.dst : o.op)),
      ["10.102.0.0/16", "10.2.0.0/16"],
    );
    await r.removeAll();
    assert.deepEqual(a.net.state.links, []);
    assert.deepEqual(a.net.state.routes, []);
  });

  it("one gateway → two (active-active) → one of them → active-passive: the group comes, shrinks without touching routes or the device, and goes", async () => {
    const { a, r } = setup();
    const aa = (hostname: string, slot: number) => ({
      ...ep("c1", 1, hostname),
      backend_config: { "gateway-mode": "active-active", "gateway-slot": String(slot) },
    });
    await r.reconcile(desiredState(input()));
    const two = await r.reconcile(desiredState(input({ localEndpoints: [aa("n0", 1), aa("n2", 2)] })));
    assert.deepEqual(two.netOps.filter((o) => o.op === "nexthop").length, 3, "two members and the group");
    assert.deepEqual(
      a.net.state.routes.filter((x) => x.table === 150).map((x) => x.nhid),
      [15000, 15000],
    );
    assert.deepEqual((await r.reconcile(desiredState(input({ localEndpoints: [aa("n0", 1), aa("n2", 2)] })))).netOps, []);
    // One active-active gateway goes: its FDB entry, member and pinning (rule, table) go, the group keeps the other; no route of table 150 or device touched.
    const lost = await r.reconcile(desiredState(input({ localEndpoints: [aa("n2", 2)] })));
    assert.deepEqual(
      lost.netOps.map((o) => (o.op === "nexthop" ? host.renderNexthopOp(o.nh) : o.op)),
      [
        "fdb-del",
        "rule-del",
        "nexthop replace id 15000 group 15002 type resilient buckets 128 idle_timer 60",
        "route-del",
        "route-del",
        "nexthop del id 15001",
      ],
    );
    const back = await r.reconcile(desiredState(input()));
    assert.ok(back.netOps.some((o) => o.op === "link-add"));
    assert.deepEqual(a.net.state.nexthops, { members: [], groups: [] });
    assert.deepEqual(
      a.net.state.routes.filter((x) => x.table === 150).map((x) => x.via),
      ["240.19.1.10", "240.19.1.10"],
    );
  });

  it("clusterset IP blocks: one device route each in table 151 on every node (gateway too, no gateway too), removed with the last block", async () => {
    const { a, r } = setup();
    const underlay = input().underlay;
    for (const over of [{}, { node: nodes[0] as SiteNode }, { localEndpoints: [] }]) {
      const d = withClustersetRoutes(desiredState(input(over)), ["243.0.16.0/20", "243.0.0.0/20", "243.0.0.0/20"], underlay);
      assert.deepEqual(
        d.net.routes.filter((x) => x.table === 151).map((x) => `${x.dst} dev ${x.dev} via ${x.via}`),
        ["243.0.0.0/20 dev eth0 via undefined", "243.0.16.0/20 dev eth0 via undefined"],
      );
      assert.ok(d.net.rules.some((x) => x.priority === 151 && x.table === 151));
      await r.reconcile(d);
      assert.deepEqual(a.net.state.routes.filter((x) => x.table === 151).length, 2);
    }
    await r.reconcile(withClustersetRoutes(desiredState(input()), [], underlay));
    assert.deepEqual(
      a.net.state.routes.filter((x) => x.table === 151),
      [],
    );
    assert.ok(!a.net.state.rules.some((x) => x.table === 151));
  });

  it("a failed apply is retried in full at the next pass", async () => {
    const { a, r } = setup();
    a.net.failNext = new Error("RTNETLINK answers: boom");
    await assert.rejects(r.reconcile(desiredState(input())));
    const res = await r.reconcile(desiredState(input()));
    assert.ok(res.netOps.some((o) => o.op === "link-add"));
  });
});
