/** The host-adapter contract: the same scenario against the fakes and the real kernel. Test code. */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { HostAdapters, HostDesired, HostOwnership } from "./reconciler.ts";
import { HostReconciler } from "./reconciler.ts";

export interface HostFixture {
  readonly adapters: HostAdapters;
  /** Damages owned state behind the reconciler's back: removes one route, duplicates the rule, flushes a chain and the guard's chain. */
  drift(): Promise<void>;
  /** Adds objects Causeway does not own, and checks later that they survived. */
  addForeign(): Promise<void>;
  foreignIntact(): Promise<boolean>;
  close(): Promise<void>;
}

export const OWNED: HostOwnership = {
  net: { links: ["vx-test"], tables: [150], rulePriorities: [150] },
  chains: [
    { table: "nat", chain: "CAUSEWAY-POSTROUTING", hook: "POSTROUTING" },
    { table: "filter", chain: "CAUSEWAY-FORWARD", hook: "FORWARD" },
    { table: "mangle", chain: "CAUSEWAY-POSTROUTING", hook: "POSTROUTING" },
  ],
  sets: ["CAUSEWAY-LOCAL", "CAUSEWAY-REMOTE"],
  natGuard: true,
  clustersetNat: true,
};

export function desired(remote: string, remoteCidrs: string[]): HostDesired {
  const m = {
    sets: [
      { set: "CAUSEWAY-REMOTE", dir: "dst" },
      { set: "CAUSEWAY-LOCAL", dir: "src" },
    ],
  } as const;
  return {
    net: {
      links: [{ name: "vx-test", vni: 100, port: 4800, local: "198.18.5.1", remote, mtu: 1450, addr: "240.18.5.1/8" }],
      // A second remote on another UDP port (a gateway joined with another --nattport).
      fdb: [
        { dev: "vx-test", dst: remote },
        { dev: "vx-test", dst: "198.18.5.77", port: 4501 },
        { dev: "vx-test", mac: "0e:ca:f1:12:05:4d", dst: "198.18.5.77", port: 4501 },
      ],
      rules: [{ priority: 150, table: 150 }],
      routes: remoteCidrs.map((dst) => ({ table: 150, dst, via: "240.18.5.9", dev: "vx-test", onlink: true })),
    },
    chains: [
      { table: "nat", chain: "CAUSEWAY-POSTROUTING", hook: "POSTROUTING", rules: [{ match: m, target: { kind: "ACCEPT" } }] },
      { table: "filter", chain: "CAUSEWAY-FORWARD", hook: "FORWARD", rules: [{ match: m, target: { kind: "ACCEPT" } }] },
      {
        table: "mangle",
        chain: "CAUSEWAY-POSTROUTING",
        hook: "POSTROUTING",
        rules: [{ match: { proto: "tcp", ...m, syn: true }, target: { kind: "CLAMP_MSS_TO_PMTU" } }],
      },
    ],
    sets: new Map([
      ["CAUSEWAY-LOCAL", ["10.1.0.0/16"]],
      ["CAUSEWAY-REMOTE", remoteCidrs],
    ]),
    sysctls: new Map(),
    natGuard: { local: ["10.1.0.0/16"], remote: remoteCidrs },
    clustersetNat: {
      blocks: ["243.0.0.0/20"],
      services: [
        {
          key: "default/web",
          ip: "243.0.0.5",
          ports: [{ protocol: "TCP", port: 80, targets: remoteCidrs.map((c) => ({ ip: c.replace(/0\/16$/, "5"), port: 8080 })) }],
        },
      ],
    },
  };
}

export function hostContract(name: string, make: () => Promise<HostFixture>, skip?: string): void {
  describe(`host adapters contract: ${name}`, { skip }, () => {
    let f: HostFixture;
    let r: HostReconciler;
    before(async () => {
      f = await make();
      r = new HostReconciler(f.adapters, OWNED);
      await f.addForeign();
    });
    after(async () => {
      await f?.close();
    });

    it("creates the desired state, then a second pass changes nothing", async () => {
      const first = await r.reconcile(desired("198.18.5.9", ["10.2.0.0/16", "10.102.0.0/16"]));
      assert.ok(first.netOps.length > 0 && first.filterChanged && first.natGuardChanged && first.clustersetNatChanged);
      const second = await r.reconcile(desired("198.18.5.9", ["10.2.0.0/16", "10.102.0.0/16"]));
      assert.deepEqual(second.netOps, []);
      assert.equal(second.filterChanged, false);
      assert.equal(second.natGuardChanged, false);
      assert.equal(second.clustersetNatChanged, false);
      assert.deepEqual(await f.adapters.natGuard.observe(), { local: ["10.1.0.0/16"], remote: ["10.102.0.0/16", "10.2.0.0/16"], rulesIntact: true });
    });

    it("adds and removes remote CIDRs with route ops only", async () => {
      const res = await r.reconcile(desired("198.18.5.9", ["10.2.0.0/16", "10.3.0.0/16"]));
      assert.deepEqual(res.netOps.map((o) => o.op).sort(), ["route-del", "route-replace"]);
      assert.equal(res.filterChanged, false, "set members change, rules do not");
      assert.equal(res.natGuardChanged, true);
      assert.deepEqual((await f.adapters.natGuard.observe())?.remote, ["10.2.0.0/16", "10.3.0.0/16"]);
      assert.equal(res.clustersetNatChanged, true, "the service's endpoints changed");
      const again = await r.reconcile(desired("198.18.5.9", ["10.2.0.0/16", "10.3.0.0/16"]));
      assert.deepEqual(again.netOps, []);
      assert.equal(again.natGuardChanged, false);
      assert.equal(again.clustersetNatChanged, false);
    });

    it("re-creates the link when the gateway moves, and routes come back", async () => {
      const res = await r.reconcile(desired("198.18.5.7", ["10.2.0.0/16", "10.3.0.0/16"]));
      assert.ok(res.netOps.some((o) => o.op === "link-add"));
      assert.ok(res.netOps.filter((o) => o.op === "route-replace").length === 2);
      assert.deepEqual((await r.reconcile(desired("198.18.5.7", ["10.2.0.0/16", "10.3.0.0/16"]))).netOps, []);
    });

    it("repairs drift: a lost route, a duplicated rule, a flushed chain, the guard's rules gone", async () => {
      await f.drift();
      const res = await r.reconcile(desired("198.18.5.7", ["10.2.0.0/16", "10.3.0.0/16"]));
      assert.ok(res.netOps.some((o) => o.op === "route-replace"));
      assert.ok(res.netOps.some((o) => o.op === "rule-del"));
      assert.equal(res.filterChanged, true);
      assert.equal(res.natGuardChanged, true);
      assert.equal((await f.adapters.natGuard.observe())?.rulesIntact, true);
      const again = await r.reconcile(desired("198.18.5.7", ["10.2.0.0/16", "10.3.0.0/16"]));
      assert.deepEqual(again.netOps, []);
      assert.equal(again.filterChanged, false);
    });

    it("routes remote CIDRs through a resilient next-hop group of gateways: a member changes in place, the routes stay; back to one gateway, the group goes", async () => {
      const owned = { ...OWNED, net: { ...OWNED.net, nexthopIds: { from: 1500, to: 1599 } } };
      const rg = new HostReconciler(f.adapters, owned);
      const cidrs = ["10.2.0.0/16", "10.3.0.0/16"];
      const over = (vteps: string[]): HostDesired => {
        const plain = desired("198.18.5.7", cidrs);
        const members = vteps.map((via, i) => ({ id: 1501 + i, via, dev: "vx-test", onlink: true }));
        const routes = cidrs.map((dst) => ({ table: 150, dst, dev: "vx-test", nhid: 1500, src: "240.18.5.1" }));
        const groups = [{ id: 1500, members: members.map((m) => m.id), buckets: 32, idleTimerS: 60 }];
        return { ...plain, net: { ...plain.net, routes, nexthops: { members, groups } } };
      };
      const first = await rg.reconcile(over(["240.18.5.9", "240.18.5.10"]));
      assert.deepEqual([...new Set(first.netOps.map((o) => o.op))].sort(), ["nexthop", "route-replace"]);
      const obs = await f.adapters.net.observe(owned.net);
      assert.deepEqual(
        obs.routes.map((r) => [r.dst, r.nhid]).sort(),
        cidrs.map((c) => [c, 1500]),
      );
      assert.deepEqual(
        obs.nexthops?.groups.map((g) => [g.id, [...g.members].sort()]),
        [[1500, [1501, 1502]]],
      );
      assert.deepEqual((await rg.reconcile(over(["240.18.5.9", "240.18.5.10"]))).netOps, []);
      const moved = await rg.reconcile(over(["240.18.5.9", "240.18.5.11"]));
      assert.deepEqual(
        moved.netOps.map((o) => o.op),
        ["nexthop"],
        "one member changed in place: no route touched",
      );
      const back = await rg.reconcile(desired("198.18.5.7", cidrs));
      assert.deepEqual((await f.adapters.net.observe(owned.net)).nexthops, { members: [], groups: [] });
      assert.ok(back.netOps.filter((o) => o.op === "route-replace").length === 2);
      assert.deepEqual((await rg.reconcile(desired("198.18.5.7", cidrs))).netOps, []);
    });

    it("pins flows by connection mark: marked by the sending gateway's MAC, replies routed by their mark through a table of their own; a second pass changes nothing", async () => {
      const owned = {
        ...OWNED,
        net: { ...OWNED.net, tables: [150, 161, 170], rulePriorities: [150, 90, 95] },
        chains: [...OWNED.chains, { table: "mangle" as const, chain: "CAUSEWAY-PREROUTING", hook: "PREROUTING" as const }],
      };
      const rp = new HostReconciler(f.adapters, owned);
      const cidrs = ["10.2.0.0/16", "10.3.0.0/16"];
      const pinned = (): HostDesired => {
        const plain = desired("198.18.5.7", cidrs);
        const mask = 0x0f000000;
        return {
          ...plain,
          net: {
            ...plain.net,
            rules: [
              ...plain.net.rules,
              { priority: 90, table: 161, fwmark: { mark: 0x01000000, mask } },
              ...cidrs.map((src) => ({ priority: 95, table: 170, src })),
            ],
            routes: [
              ...plain.net.routes,
              ...cidrs.map((dst) => ({ table: 161, dst, via: "240.18.5.9", dev: "vx-test", onlink: true })),
              { table: 170, dst: "10.1.3.0/24", via: "240.18.5.12", dev: "vx-test", onlink: true },
            ],
          },
          chains: [
            ...plain.chains,
            {
              table: "mangle",
              chain: "CAUSEWAY-PREROUTING",
              hook: "PREROUTING",
              rules: [
                { match: { in: "vx-test", ctNew: true, macSource: "0E:CA:F0:12:05:09" }, target: { kind: "CONNMARK_SET", mark: 0x01000000, mask } },
                { match: { notIn: "vx-test", connmark: { mark: 0, mask, not: true } }, target: { kind: "CONNMARK_RESTORE", mask } },
              ],
            },
          ],
        };
      };
      const first = await rp.reconcile(pinned());
      assert.ok(first.filterChanged);
      assert.ok(first.netOps.some((o) => o.op === "rule-add" && o.rule.fwmark?.mark === 0x01000000));
      const rules = (await f.adapters.net.observe(owned.net)).rules;
      assert.deepEqual(
        rules.find((r) => r.priority === 90),
        { priority: 90, table: 161, fwmark: { mark: 0x01000000, mask: 0x0f000000 } },
      );
      assert.deepEqual(
        rules
          .filter((r) => r.priority === 95)
          .map((r) => r.src)
          .sort(),
        cidrs,
      );
      const again = await rp.reconcile(pinned());
      assert.deepEqual(again.netOps, []);
      assert.equal(again.filterChanged, false, "the rules read back as they were written");
      const gone = await rp.reconcile(desired("198.18.5.7", cidrs));
      assert.ok(gone.netOps.some((o) => o.op === "rule-del" && o.rule.priority === 90));
      const filt = await f.adapters.filter.observe(["mangle"]);
      assert.ok(!filt.get("mangle")?.has("CAUSEWAY-PREROUTING"), "the chain goes when no longer desired");
    });

    it("removeAll leaves nothing of ours and everything of others", async () => {
      await r.removeAll();
      const obs = await f.adapters.net.observe(OWNED.net);
      assert.deepEqual([obs.links, obs.routes, obs.rules, obs.fdb], [[], [], [], []]);
      const filt = await f.adapters.filter.observe(["nat", "filter", "mangle"]);
      for (const t of filt.values()) for (const c of t.keys()) assert.ok(!c.startsWith("CAUSEWAY"), c);
      assert.equal((await f.adapters.sets.observe(OWNED.sets)).size, 0);
      assert.equal(await f.adapters.natGuard.observe(), undefined);
      assert.equal(await f.adapters.clustersetNat.observe(), undefined);
      assert.ok(await f.foreignIntact());
    });
  });
}
