import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import {
  AlreadyExistsError,
  type Cluster,
  CidrOverlapError,
  type Endpoint,
  NotFoundError,
  PermissionDeniedError,
  UnauthenticatedError,
  ValidationError,
} from "@causeway/api";
import { BrokerCore, Credentials, MemoryStore, type Principal } from "../index.ts";

const admin: Principal = { role: "admin" };
const cluster = (id: string, pods: string, svcs: string): Cluster => ({
  cluster_id: id,
  cluster_cidr: [pods],
  service_cidr: [svcs],
  global_cidr: [],
});
const endpoint = (id: string, ip: string): Endpoint => ({
  cluster_id: id,
  cable_name: `causeway-cable-${id}-${ip.replaceAll(".", "-")}`,
  healthCheckIP: "",
  hostname: "n0",
  subnets: ["10.1.0.0/16"],
  private_ip: ip,
  public_ip: "",
  nat_enabled: false,
  backend: "vxlan",
  backend_config: {},
});
const epInput = (e: Endpoint) => ({ kind: "endpoint", clusterId: e.cluster_id, name: e.cable_name, valueJson: JSON.stringify(e) });

describe("BrokerCore", () => {
  let core: BrokerCore;
  let now = 1_000_000;
  beforeEach(() => {
    core = new BrokerCore(new MemoryStore(), () => now);
  });

  it("join issues a credential that authenticates as that cluster", async () => {
    const { token } = await core.join(admin, JSON.stringify(cluster("c1", "10.1.0.0/16", "10.101.0.0/16")));
    assert.deepEqual(await core.credentials.authenticate(token), { role: "cluster", clusterId: "c1" });
    await assert.rejects(core.credentials.authenticate(`${token}x`), UnauthenticatedError);
    await assert.rejects(core.credentials.authenticate(undefined), UnauthenticatedError);
  });

  it("refuses a duplicate cluster id", async () => {
    await core.join(admin, JSON.stringify(cluster("c1", "10.1.0.0/16", "10.101.0.0/16")));
    await assert.rejects(core.join(admin, JSON.stringify(cluster("c1", "10.9.0.0/16", "10.109.0.0/16"))), AlreadyExistsError);
  });

  it("refuses overlapping CIDRs, naming both clusters and both CIDRs", async () => {
    await core.join(admin, JSON.stringify(cluster("c1", "10.1.0.0/16", "10.101.0.0/16")));
    await assert.rejects(core.join(admin, JSON.stringify(cluster("c2", "10.1.128.0/17", "10.102.0.0/16"))), (err: Error) => {
      assert.ok(err instanceof CidrOverlapError);
      assert.match(err.message, /cluster c2 CIDR 10\.1\.128\.0\/17 overlaps cluster c1 CIDR 10\.1\.0\.0\/16/);
      return true;
    });
    // nothing was stored for c2
    assert.equal((await core.list(admin, "cluster")).records.length, 1);
  });

  it("gives each cluster its own clusterset IP block (the next free /20 of 243.0.0.0/8) and keeps it when the record is rewritten without one", async () => {
    const blockOf = async (id: string) => {
      const r = (await core.list(admin, "cluster")).records.find((x) => x.clusterId === id);
      return r ? (JSON.parse(r.value) as Cluster).clusterset_ip_cidr : undefined;
    };
    // c1 uses the first block as its pod CIDR: the broker skips it
    await core.join(admin, JSON.stringify(cluster("c1", "243.0.0.0/20", "10.101.0.0/16")));
    await core.join(admin, JSON.stringify(cluster("c2", "10.2.0.0/16", "10.102.0.0/16")));
    assert.deepEqual(await blockOf("c1"), ["243.0.16.0/20"]);
    assert.deepEqual(await blockOf("c2"), ["243.0.32.0/20"]);
    const c1 = { role: "cluster", clusterId: "c1" } as const;
    await core.put(c1, { kind: "cluster", clusterId: "c1", name: "c1", valueJson: JSON.stringify(cluster("c1", "243.0.0.0/20", "10.101.0.0/16")) });
    assert.deepEqual(await blockOf("c1"), ["243.0.16.0/20"]);
    await core.leave(admin, "c1");
    await core.join(admin, JSON.stringify({ ...cluster("c3", "10.3.0.0/16", "10.103.0.0/16"), clusterset_ip_cidr: ["100.64.0.0/24"] }));
    assert.deepEqual(await blockOf("c3"), ["100.64.0.0/24"]);
  });

  it("refuses a clusterset IP CIDR that overlaps a member's (or its own) pod, service or clusterset IP CIDR, naming both", async () => {
    await core.join(admin, JSON.stringify(cluster("c1", "10.1.0.0/16", "10.101.0.0/16")));
    await assert.rejects(
      core.join(admin, JSON.stringify({ ...cluster("c2", "10.2.0.0/16", "10.102.0.0/16"), clusterset_ip_cidr: ["10.1.4.0/24"] })),
      (err: Error) => {
        assert.ok(err instanceof CidrOverlapError);
        assert.match(err.message, /cluster c2 CIDR 10\.1\.4\.0\/24 overlaps cluster c1 CIDR 10\.1\.0\.0\/16/);
        return true;
      },
    );
    await assert.rejects(
      core.join(admin, JSON.stringify({ ...cluster("c2", "10.2.0.0/16", "10.102.0.0/16"), clusterset_ip_cidr: ["243.0.8.0/24"] })),
      (err: Error) => {
        assert.match(err.message, /cluster c2 CIDR 243\.0\.8\.0\/24 overlaps cluster c1 CIDR 243\.0\.0\.0\/20/);
        return true;
      },
    );
    await assert.rejects(
      core.join(admin, JSON.stringify({ ...cluster("c2", "10.2.0.0/16", "10.102.0.0/16"), clusterset_ip_cidr: ["10.102.0.0/20"] })),
      (err: Error) => {
        assert.ok(err instanceof ValidationError);
        assert.match(err.message, /its own CIDRs 10\.102\.0\.0\/16 and 10\.102\.0\.0\/20 overlap/);
        return true;
      },
    );
    assert.equal((await core.list(admin, "cluster")).records.length, 1);
  });

  it("refuses malformed clusters with every problem listed", async () => {
    await assert.rejects(core.join(admin, JSON.stringify({ cluster_id: "C_1", cluster_cidr: ["10.1.0.1/16"], service_cidr: [] })), (err: Error) => {
      assert.ok(err instanceof ValidationError);
      assert.match(err.message, /cluster_id/);
      assert.match(err.message, /cluster_cidr\.0/);
      return true;
    });
    await assert.rejects(core.join(admin, "{not json"), ValidationError);
  });

  it("only the admin joins clusters", async () => {
    await core.join(admin, JSON.stringify(cluster("c1", "10.1.0.0/16", "10.101.0.0/16")));
    await assert.rejects(core.join({ role: "cluster", clusterId: "c1" }, JSON.stringify(cluster("c9", "10.9.0.0/16", "10.109.0.0/16"))), PermissionDeniedError);
  });

  it("a cluster writes its own records and is refused another cluster's", async () => {
    await core.join(admin, JSON.stringify(cluster("c1", "10.1.0.0/16", "10.101.0.0/16")));
    await core.join(admin, JSON.stringify(cluster("c2", "10.2.0.0/16", "10.102.0.0/16")));
    const c1: Principal = { role: "cluster", clusterId: "c1" };
    await core.put(c1, epInput(endpoint("c1", "198.18.1.10")));
    await assert.rejects(core.put(c1, epInput(endpoint("c2", "198.18.2.10"))), (err: Error) => {
      assert.ok(err instanceof PermissionDeniedError);
      assert.match(err.message, /cluster c1 may not write records of cluster c2/);
      return true;
    });
    await assert.rejects(core.delete(c1, { kind: "endpoint", clusterId: "c2", name: "x" }), PermissionDeniedError);
    await assert.rejects(core.leave(c1, "c2"), PermissionDeniedError);
    // internal kinds are not writable or listable
    await assert.rejects(core.put(c1, { kind: "credential", clusterId: "c1", name: "token", valueJson: "{}" }), ValidationError);
    assert.ok((await core.list(admin, "")).records.every((r) => r.kind !== "credential"));
  });

  it("validates endpoints at the door", async () => {
    await core.join(admin, JSON.stringify(cluster("c1", "10.1.0.0/16", "10.101.0.0/16")));
    const c1: Principal = { role: "cluster", clusterId: "c1" };
    const bad = { ...endpoint("c1", "198.18.1.10"), private_ip: "999.1.1.1" };
    await assert.rejects(core.put(c1, epInput(bad)), ValidationError);
    await assert.rejects(core.put(c1, { ...epInput(endpoint("c1", "198.18.1.10")), name: "other" }), ValidationError);
    await assert.rejects(core.put(admin, epInput(endpoint("c7", "198.18.7.10"))), NotFoundError);
  });

  it("leave removes the cluster, its records and its credential", async () => {
    const { token } = await core.join(admin, JSON.stringify(cluster("c1", "10.1.0.0/16", "10.101.0.0/16")));
    await core.put({ role: "cluster", clusterId: "c1" }, epInput(endpoint("c1", "198.18.1.10")));
    const { deleted } = await core.leave({ role: "cluster", clusterId: "c1" }, "c1");
    assert.equal(deleted, 3); // cluster, endpoint, credential
    await assert.rejects(core.credentials.authenticate(token), UnauthenticatedError);
    // the id can join again afterwards
    await core.join(admin, JSON.stringify(cluster("c1", "10.1.0.0/16", "10.101.0.0/16")));
  });

  it("leases: one holder at a time, takeover only after expiry, release frees at once", async () => {
    await core.join(admin, JSON.stringify(cluster("c1", "10.1.0.0/16", "10.101.0.0/16")));
    const p: Principal = { role: "cluster", clusterId: "c1" };
    assert.equal((await core.acquireLease(p, "gw", "a", 1000)).held, true);
    const b = await core.acquireLease(p, "gw", "b", 1000);
    assert.deepEqual([b.held, b.holder], [false, "a"]);
    now += 500;
    assert.equal((await core.renewLease(p, "gw", "a", 1000)).held, true);
    now += 900;
    assert.equal((await core.acquireLease(p, "gw", "b", 1000)).held, false);
    now += 200;
    assert.equal((await core.acquireLease(p, "gw", "b", 1000)).held, true);
    assert.equal((await core.renewLease(p, "gw", "a", 1000)).held, false);
    await core.releaseLease(p, "gw", "b");
    assert.equal((await core.acquireLease(p, "gw", "a", 1000)).held, true);
    await assert.rejects(core.acquireLease(p, "gw", "a", 0), ValidationError);
    await assert.rejects(core.acquireLease(admin, "gw", "a", 100), PermissionDeniedError);
  });

  it("a gateway clashing with a live gateway of its cluster on another node is refused, naming both: the same private IP, the same WireGuard key, the other gateway mode; stale Endpoints clash with nothing", async () => {
    await core.join(admin, JSON.stringify(cluster("c1", "10.1.0.0/16", "10.101.0.0/16")));
    const p: Principal = { role: "cluster", clusterId: "c1" };
    const gw = (host: string, ip: string, o: { slot?: number; key?: string } = {}): Endpoint => ({
      ...endpoint("c1", ip),
      hostname: host,
      backend_config: {
        ...(o.slot ? { "gateway-mode": "active-active", "gateway-slot": String(o.slot) } : {}),
        ...(o.key ? { publicKey: o.key } : {}),
      },
    });
    const refused = (e: Endpoint, why: RegExp) =>
      assert.rejects(
        core.put(p, epInput(e)),
        (err: Error) => err instanceof ValidationError && /nodes n\d and n\d of cluster c1/.test(err.message) && why.test(err.message),
      );
    // n1 holds slot 1 and publishes; n2 in slot 2 alongside it is fine.
    assert.equal((await core.acquireLease(p, "gateway-slot-1", "n1", 1000)).held, true);
    await core.put(p, epInput(gw("n1", "198.18.1.11", { slot: 1, key: "k1" })));
    assert.equal((await core.acquireLease(p, "gateway-slot-2", "n2", 1000)).held, true);
    await core.put(p, epInput(gw("n2", "198.18.1.12", { slot: 2, key: "k2" })));
    await refused(gw("n3", "198.18.1.11", { slot: 3 }), /both publish a gateway at private IP 198\.18\.1\.11/);
    await refused(gw("n3", "198.18.1.13", { slot: 3, key: "k1" }), /publish the same WireGuard key/);
    await refused(gw("n3", "198.18.1.13"), /run different gateway modes \(n3: active-passive, n\d: active-active\)/);
    // The same node may change its Endpoint (a restart in the other mode).
    await core.put(p, epInput(gw("n1", "198.18.1.11", { slot: 1, key: "k1b" })));
    // Once n1's and n2's leases expire, their Endpoints are stale: nothing clashes with them.
    now += 1500;
    await core.put(p, epInput(gw("n3", "198.18.1.13")));
  });

  it("admin tokens must have the expected form", async () => {
    await assert.rejects(core.credentials.setAdmin("short"), UnauthenticatedError);
    const t = Credentials.newAdminToken();
    await core.credentials.setAdmin(t);
    assert.deepEqual(await core.credentials.authenticate(t), { role: "admin" });
  });
});
