import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type Cluster, CidrOverlapError, globalnetSettings, ValidationError } from "@causeway/api";
import { BrokerConfigSchema, BrokerCore, MemoryStore, type Principal } from "../index.ts";

const admin: Principal = { role: "admin" };
/** kind's defaults: every cluster has the same pod and service CIDRs. */
const kind = (id: string, extra: Partial<Cluster> = {}): string =>
  JSON.stringify({ cluster_id: id, cluster_cidr: ["10.244.0.0/16"], service_cidr: ["10.96.0.0/12"], global_cidr: [], ...extra });
const on = (cidrRange = "242.0.0.0/8", clusterSize = 65536) => globalnetSettings({ enabled: true, cidrRange, clusterSize });

async function globalOf(core: BrokerCore, id: string): Promise<string[] | undefined> {
  const r = (await core.list(admin, "cluster")).records.find((x) => x.clusterId === id);
  return r ? (JSON.parse(r.value) as Cluster).global_cidr : undefined;
}

describe("BrokerCore with globalnet", () => {
  it("accepts members with identical CIDRs and gives each the next free block of the range", async () => {
    const core = new BrokerCore(new MemoryStore(), Date.now, on());
    await core.join(admin, kind("c1"));
    await core.join(admin, kind("c2"));
    await core.join(admin, kind("c3", { global_cidr: ["242.5.0.0/16"] }));
    await core.join(admin, kind("c4"));
    assert.deepEqual(await globalOf(core, "c1"), ["242.0.0.0/16"]);
    assert.deepEqual(await globalOf(core, "c2"), ["242.1.0.0/16"]);
    assert.deepEqual(await globalOf(core, "c3"), ["242.5.0.0/16"]);
    assert.deepEqual(await globalOf(core, "c4"), ["242.2.0.0/16"]);
  });

  it("keeps a member's global CIDR when its record is rewritten without one, and refuses to change it", async () => {
    const core = new BrokerCore(new MemoryStore(), Date.now, on());
    await core.join(admin, kind("c1"));
    const c1: Principal = { role: "cluster", clusterId: "c1" };
    await core.put(c1, { kind: "cluster", clusterId: "c1", name: "c1", valueJson: kind("c1") });
    assert.deepEqual(await globalOf(core, "c1"), ["242.0.0.0/16"]);
    await assert.rejects(
      core.put(c1, { kind: "cluster", clusterId: "c1", name: "c1", valueJson: kind("c1", { global_cidr: ["242.9.0.0/16"] }) }),
      (err: Error) => {
        assert.ok(err instanceof ValidationError);
        assert.match(err.message, /has global CIDR 242\.0\.0\.0\/16; a member's global CIDR cannot change \(242\.9\.0\.0\/16 was asked\)/);
        return true;
      },
    );
  });

  it("rounds the cluster size up to a power of two", async () => {
    const core = new BrokerCore(new MemoryStore(), Date.now, on("242.0.0.0/8", 1000));
    await core.join(admin, kind("c1"));
    await core.join(admin, kind("c2"));
    assert.deepEqual(await globalOf(core, "c2"), ["242.0.4.0/22"]);
  });

  it("refuses a join when the range is exhausted, naming the range and how many blocks are used", async () => {
    const core = new BrokerCore(new MemoryStore(), Date.now, on("242.0.0.0/24", 64));
    for (const id of ["c1", "c2", "c3", "c4"]) await core.join(admin, kind(id));
    await assert.rejects(core.join(admin, kind("c5")), (err: Error) => {
      assert.ok(err instanceof CidrOverlapError);
      assert.match(err.message, /the globalnet range 242\.0\.0\.0\/24 is exhausted: 4 of its 4 \/26 blocks are used/);
      assert.match(err.message, /--globalnet-cidr/);
      return true;
    });
    assert.equal((await core.list(admin, "cluster")).records.length, 4);
  });

  it("refuses a --globalnet-cidr that overlaps another member's, naming both", async () => {
    const core = new BrokerCore(new MemoryStore(), Date.now, on());
    await core.join(admin, kind("c1"));
    await assert.rejects(core.join(admin, kind("c2", { global_cidr: ["242.0.128.0/17"] })), (err: Error) => {
      assert.ok(err instanceof CidrOverlapError);
      assert.match(err.message, /cluster c2 CIDR 242\.0\.128\.0\/17 overlaps cluster c1 CIDR 242\.0\.0\.0\/16/);
      return true;
    });
    // …and one that overlaps another member's pod network (others route to it)
    await assert.rejects(
      core.join(admin, kind("c3", { cluster_cidr: ["10.10.0.0/16"], global_cidr: ["10.244.0.0/24"] })),
      /CIDR 10\.244\.0\.0\/24 overlaps cluster c1 CIDR 10\.244\.0\.0\/16/,
    );
  });

  it("refuses a global CIDR smaller than a /28, or more than one", async () => {
    const core = new BrokerCore(new MemoryStore(), Date.now, on());
    await assert.rejects(
      core.join(admin, kind("c1", { global_cidr: ["242.0.0.0/29"] })),
      /--globalnet-cidr 242\.0\.0\.0\/29 is too small: a cluster needs at least a \/28/,
    );
    await assert.rejects(core.join(admin, kind("c1", { global_cidr: ["242.0.0.0/24", "242.1.0.0/24"] })), /one global CIDR per member/);
  });

  it("refuses a member that opts out (join --globalnet=false), naming the flag", async () => {
    const core = new BrokerCore(new MemoryStore(), Date.now, on());
    await assert.rejects(core.join(admin, kind("c1"), { globalnetDisabled: true }), (err: Error) => {
      assert.ok(err instanceof ValidationError);
      assert.match(err.message, /the broker runs globalnet \(deploy-broker --globalnet, range 242\.0\.0\.0\/8\).*without --globalnet=false/);
      return true;
    });
  });

  it("refuses --globalnet-cidr on a broker without globalnet, naming the flag", async () => {
    const core = new BrokerCore(new MemoryStore());
    await assert.rejects(core.join(admin, kind("c1", { global_cidr: ["242.0.0.0/16"] })), (err: Error) => {
      assert.ok(err instanceof ValidationError);
      assert.match(
        err.message,
        /--globalnet-cidr\), but the broker runs without globalnet; join without --globalnet-cidr, or deploy the broker with --globalnet/,
      );
      return true;
    });
  });

  it("without globalnet, the overlap refusal names the fix", async () => {
    const core = new BrokerCore(new MemoryStore());
    await core.join(admin, kind("c1"));
    await assert.rejects(core.join(admin, kind("c2")), (err: Error) => {
      assert.ok(err instanceof CidrOverlapError);
      assert.match(err.message, /cluster c2 CIDR 10\.244\.0\.0\/16 overlaps cluster c1 CIDR 10\.244\.0\.0\/16.*deploy the broker with --globalnet/);
      return true;
    });
  });

  it("refuses to serve members that joined under the other setting", async () => {
    const store = new MemoryStore();
    const gn = new BrokerCore(store, Date.now, on());
    await gn.join(admin, kind("c1"));
    await assert.rejects(
      new BrokerCore(store).checkMembers(),
      /members c1 joined with globalnet \(global CIDRs 242\.0\.0\.0\/16\), but the broker runs without --globalnet/,
    );
    await new BrokerCore(store, Date.now, on()).checkMembers();
    const plain = new MemoryStore();
    await new BrokerCore(plain).join(admin, kind("c1"));
    await assert.rejects(new BrokerCore(plain, Date.now, on()).checkMembers(), /members c1 joined without globalnet, but the broker runs with --globalnet/);
  });
});

describe("globalnetSettings (deploy-broker's flags)", () => {
  it("the broker's configuration takes them on and off (what main.ts passes without --globalnet too)", () => {
    for (const enabled of [false, true]) {
      const cfg = BrokerConfigSchema.parse({ adminTokenFile: "/x", globalnet: globalnetSettings({ enabled }) });
      assert.equal(cfg.globalnet.enabled, enabled);
    }
  });

  it("defaults to Submariner's range and size, and refuses what cannot work", () => {
    assert.deepEqual(globalnetSettings({ enabled: true }), { enabled: true, cidrRange: "242.0.0.0/8", clusterSize: 65536 });
    assert.throws(() => globalnetSettings({ enabled: true, clusterSize: 8 }), /--default-globalnet-cluster-size 8 is too small/);
    assert.throws(
      () => globalnetSettings({ enabled: true, cidrRange: "242.0.0.0/24", clusterSize: 65536 }),
      /does not fit in --globalnet-cidr-range 242\.0\.0\.0\/24/,
    );
    assert.throws(() => globalnetSettings({ enabled: true, cidrRange: "242.0.0.1/8" }), /--globalnet-cidr-range 242\.0\.0\.1\/8 is not an IPv4 CIDR/);
    assert.throws(() => globalnetSettings({ enabled: false, cidrRange: "242.0.0.0/8" }), /--globalnet-cidr-range applies only with --globalnet/);
  });
});
