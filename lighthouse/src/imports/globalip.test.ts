import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { globalIngressCapacity, type ServiceExport } from "@causeway/api";
import { globalView, usableExports } from "@causeway/common";
import { assignGlobalIps, GlobalIpQuarantine, withGlobalIps } from "./globalip.ts";

const at = "2026-12-04T10:00:00.000Z";
const svc = (name: string, o: Partial<ServiceExport> = {}): ServiceExport => ({
  namespace: "default",
  name,
  type: "ClusterSetIP",
  ip: "10.96.0.11",
  ports: [{ name: "http", protocol: "TCP", port: 80, targetPort: 8080 }],
  endpoints: [{ ip: "10.244.1.10", ready: true }],
  exportedAt: at,
  ...o,
});
const headless = (eps: ServiceExport["endpoints"]) => svc("db", { type: "Headless", ip: "", endpoints: eps });
const CIDR = "242.0.0.0/16";

describe("global IPs of this cluster's exports", () => {
  it("a ClusterSetIP export gets one and keeps it; another export never gets the same; without a global CIDR none", () => {
    const web = withGlobalIps(svc("web"), undefined, [], CIDR);
    assert.ok(web.globalIp?.startsWith("242.0."));
    assert.equal(withGlobalIps(svc("web"), web, [], CIDR).globalIp, web.globalIp, "kept");
    const other = withGlobalIps(svc("api"), undefined, [web], CIDR);
    assert.notEqual(other.globalIp, web.globalIp);
    // An address another export holds is given up for a new one.
    assert.notEqual(withGlobalIps(svc("web"), web, [{ ...svc("api"), globalIp: web.globalIp }], CIDR).globalIp, web.globalIp);
    assert.equal(withGlobalIps(svc("web"), web, [], undefined).globalIp, undefined);
    assert.equal(withGlobalIps(svc("web", { unavailable: "no service" }), web, [], CIDR).globalIp, undefined);
  });

  it("a headless export: one per ready endpoint, kept while ready, given back when not", () => {
    const two = withGlobalIps(
      headless([
        { ip: "10.244.1.20", ready: true },
        { ip: "10.244.2.20", ready: true },
      ]),
      undefined,
      [],
      CIDR,
    );
    const [a, b] = two.endpoints.map((e) => e.globalIp);
    assert.ok(a && b && a !== b);
    const later = withGlobalIps(
      headless([
        { ip: "10.244.1.20", ready: true },
        { ip: "10.244.2.20", ready: false },
      ]),
      two,
      [],
      CIDR,
    );
    assert.deepEqual(
      later.endpoints.map((e) => e.globalIp),
      [a, undefined],
    );
  });

  it("exports allocated in one pass never share an address", () => {
    const wanted = new Map(Array.from({ length: 50 }, (_, i) => [`default.s${i}`, svc(`s${i}`)] as const));
    const out = assignGlobalIps(wanted, new Map(), "242.0.0.0/26");
    const ips = [...out.values()].map((e) => e.globalIp);
    assert.equal(new Set(ips).size, 50);
  });

  it("other clusters see a remote export by its global addresses only; the local cluster by its own", () => {
    const remote = { clusterId: "c2", value: { ...svc("web"), globalIp: "242.1.0.30", clustersetIp: "243.0.16.5" } };
    const v = globalView(remote).value;
    assert.equal(v.ip, "242.1.0.30");
    assert.deepEqual(v.endpoints, [{ ip: "242.1.0.30", ready: true }]);
    assert.deepEqual(v.ports, [{ name: "http", protocol: "TCP", port: 80 }], "the service port: the exporting gateway translates to the target port");
    assert.equal(v.clustersetIp, "243.0.16.5");
    assert.deepEqual(globalView({ clusterId: "c2", value: svc("web") }).value.endpoints, [], "no global IP yet: nothing usable");
    const hl = globalView({
      clusterId: "c3",
      value: headless([
        { ip: "10.244.1.20", hostname: "db-0", ready: true, globalIp: "242.2.0.40" },
        { ip: "10.244.2.20", ready: false },
      ]),
    }).value;
    assert.deepEqual(hl.endpoints, [{ ip: "242.2.0.40", ready: true, hostname: "db-0" }]);
    const local = { clusterId: "c1", value: svc("web") };
    assert.deepEqual(usableExports([local, remote], "c1", true), [local, globalView(remote)]);
    assert.deepEqual(usableExports([local, remote], "c1", false), [local, remote]);
  });

  it("an address given back is held back 30 s from other services (not from the one that had it); then it is free", () => {
    const SMALL = "242.0.0.0/28";
    let now = 0;
    const q = new GlobalIpQuarantine(30_000, () => now);
    // Every ingress address taken, one export each.
    const names = Array.from({ length: globalIngressCapacity(SMALL) }, (_, i) => `s${i}`);
    const all = [...assignGlobalIps(new Map(names.map((n) => [n, svc(n)])), new Map(), SMALL, q).values()];
    assert.ok(all.every((e) => e.globalIp));
    q.see(all);
    // s0 is unexported: its address goes back.
    const [s0, ...rest] = all;
    const freed = s0?.globalIp ?? "";
    now = 1000;
    q.see(rest);
    assert.deepEqual(q.held(), [freed]);
    assert.equal(withGlobalIps(svc("late"), undefined, rest, SMALL, q).globalIp, undefined, "another service does not get it");
    assert.equal(withGlobalIps(svc("s0"), undefined, rest, SMALL, q).globalIp, freed, "the service that had it takes it back");
    assert.equal(withGlobalIps(svc("late"), undefined, rest, SMALL).globalIp, freed, "without a quarantine it would have");
    now = 31_000;
    assert.equal(withGlobalIps(svc("late"), undefined, rest, SMALL, q).globalIp, freed, "30 s on, it is free");
    q.see(rest);
    assert.deepEqual(q.held(), []);
  });

  it("a headless endpoint's address given back is held back from other endpoints too", () => {
    let now = 0;
    const q = new GlobalIpQuarantine(30_000, () => now);
    const before = withGlobalIps(headless([{ ip: "10.244.1.20", ready: true }]), undefined, [], CIDR, q);
    q.see([before]);
    const freed = before.endpoints[0]?.globalIp ?? "";
    const gone = withGlobalIps(headless([{ ip: "10.244.1.20", ready: false }]), before, [], CIDR, q);
    now = 500;
    q.see([gone]);
    assert.deepEqual(q.held(), [freed]);
    assert.ok(q.blocks(freed, "default/db/10.244.1.21"));
    assert.ok(!q.blocks(freed, "default/db/10.244.1.20"), "the endpoint that had it may take it back");
  });
});
