/**
 * The broker lets no one in who does not belong: every kind of refusal over real gRPC (a Unix
 * socket), each counted in causeway_broker_refused_total, while another cluster's calls and watch
 * go on undisturbed.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { type Endpoint, PermissionDeniedError, UnauthenticatedError, ValidationError, type WatchEvent } from "@causeway/api";
import { silentLogger } from "@causeway/common";
import { BrokerConnection } from "@causeway/common/broker-client";
import { startBroker } from "./index.ts";

const dir = mkdtempSync(join(tmpdir(), "causeway-broker-sec-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const ep = (id: string, n: number, extra: Partial<Endpoint> = {}): Endpoint => ({
  cluster_id: id,
  cable_name: `causeway-cable-${id}`,
  healthCheckIP: "",
  hostname: `host-${n}`,
  subnets: [`10.${n}.0.0/16`],
  private_ip: `198.18.${n}.10`,
  public_ip: "",
  nat_enabled: false,
  backend: "vxlan",
  backend_config: {},
  ...extra,
});

/** The refusal counter's value for a reason (summed over methods). */
async function refused(registry: Awaited<ReturnType<typeof startBroker>>["registry"], reason: string): Promise<number> {
  const m = await registry.getSingleMetric("causeway_broker_refused_total")?.get();
  return (m?.values ?? []).filter((v) => v.labels.reason === reason).reduce((s, v) => s + v.value, 0);
}

describe("broker security: refusals", () => {
  const sock = `unix://${join(dir, "broker.sock")}`;

  it("unauthenticated, malformed, unknown, revoked, expired and replaced credentials, cross-cluster writes, oversized and malformed records: refused, counted; others unaffected", async () => {
    const broker = await startBroker({ listen: [sock], db: join(dir, "broker.db"), adminTokenFile: join(dir, "admin-token") }, silentLogger());
    const admin = new BrokerConnection({ address: sock, token: readFileSync(join(dir, "admin-token"), "utf8").trim() });
    const conns: BrokerConnection[] = [admin];
    const as = (token: string) => {
      const c = new BrokerConnection({ address: sock, token });
      conns.push(c);
      return c;
    };
    try {
      const t1 = (await admin.join({ cluster_id: "s1", cluster_cidr: ["10.1.0.0/16"], service_cidr: [], global_cidr: [] })).token;
      const t2 = (await admin.join({ cluster_id: "s2", cluster_cidr: ["10.2.0.0/16"], service_cidr: [], global_cidr: [] })).token;
      const c1 = as(t1);
      const c2 = as(t2);
      // A bystander: s2 watches and writes throughout.
      const seen: WatchEvent[] = [];
      const stop = c2.watch(
        ["endpoint"],
        0,
        (e) => seen.push(e),
        () => undefined,
      );
      await c2.put("endpoint", "s2", "causeway-cable-s2", ep("s2", 2));

      await assert.rejects(as("").whoAmI(), UnauthenticatedError);
      await assert.rejects(as("not-a-token").whoAmI(), /malformed credential/);
      await assert.rejects(as("cwc.s1.wrong-secret").whoAmI(), /unknown credential for cluster s1/);
      await assert.rejects(
        as("cwa.wrong-admin-secret-xxxxxxxx").join({ cluster_id: "x", cluster_cidr: ["10.9.0.0/16"], service_cidr: [], global_cidr: [] }),
        UnauthenticatedError,
      );
      // A member may not write another cluster's records, nor act as the admin.
      await assert.rejects(c1.put("endpoint", "s2", "causeway-cable-s2", ep("s2", 2, { hostname: "hijacked" })), PermissionDeniedError);
      await assert.rejects(c1.delete("endpoint", "s2", "causeway-cable-s2"), PermissionDeniedError);
      await assert.rejects(c1.join({ cluster_id: "x", cluster_cidr: ["10.9.0.0/16"], service_cidr: [], global_cidr: [] }), PermissionDeniedError);
      await assert.rejects(c1.rotateCredential("s2"), PermissionDeniedError);
      // Oversized: a record over 256 KiB (refused by the broker), a message over 1 MiB (refused by gRPC).
      const big = ep("s1", 1, { backend_config: { pad: "x".repeat(300 * 1024) } });
      await assert.rejects(c1.put("endpoint", "s1", "causeway-cable-s1", big), /the limit is 262144/);
      const huge = ep("s1", 1, { backend_config: { pad: "x".repeat(2 * 1024 * 1024) } });
      await assert.rejects(c1.put("endpoint", "s1", "causeway-cable-s1", huge), /larger than max|exhausted|RESOURCE_EXHAUSTED|too large/i);
      // Malformed: a value that is not the kind's schema.
      await assert.rejects(c1.put("endpoint", "s1", "causeway-cable-s1", { nonsense: true } as unknown as Endpoint), ValidationError);

      // Rotation: the old credential works during the grace period, then is refused; the new one works.
      const r = await admin.rotateCredential("s1", { graceSeconds: 1 });
      const fresh = as(r.token);
      assert.equal((await c1.whoAmI()).clusterId, "s1");
      assert.equal((await fresh.whoAmI()).clusterId, "s1");
      await sleep(1100);
      await assert.rejects(c1.whoAmI(), /grace period ended/);
      // Expiry: a credential issued for one second.
      const short = await admin.rotateCredential("s1", { ttlSeconds: 1 });
      await sleep(1100);
      await assert.rejects(as(short.token).whoAmI(), /expired at/);
      // Revocation: refused at once, its records stay; a rotation lets it back in.
      const again = await admin.rotateCredential("s1");
      const c1b = as(again.token);
      await c1b.put("endpoint", "s1", "causeway-cable-s1", ep("s1", 1));
      assert.equal((await admin.revokeCredential("s1")).revoked, true);
      await assert.rejects(c1b.whoAmI(), /was revoked/);
      assert.equal((await admin.list("endpoint")).records.filter((x) => x.clusterId === "s1").length, 1);
      const list = (await admin.listCredentials()).credentials;
      assert.equal(list.find((c) => c.clusterId === "s1")?.revoked, true);
      assert.equal(list.find((c) => c.clusterId === "s2")?.revoked, false);
      assert.ok(!JSON.stringify(list).includes("sha256"), "no digest leaves the broker");

      // Counted, by reason.
      assert.equal(await refused(broker.registry, "unauthenticated-missing"), 1);
      assert.equal(await refused(broker.registry, "unauthenticated-malformed"), 1);
      assert.equal(await refused(broker.registry, "unauthenticated-unknown"), 2);
      assert.equal(await refused(broker.registry, "unauthenticated-expired"), 2);
      assert.equal(await refused(broker.registry, "unauthenticated-revoked"), 1);
      assert.equal(await refused(broker.registry, "forbidden"), 4);
      assert.equal(await refused(broker.registry, "too-large"), 1);
      assert.equal(await refused(broker.registry, "invalid"), 1);

      // The bystander was served all along.
      await c2.put("endpoint", "s2", "causeway-cable-s2", ep("s2", 2, { hostname: "still-here" }));
      const deadline = Date.now() + 5000;
      while (!seen.some((e) => e.record?.valueJson.includes("still-here")) && Date.now() < deadline) await sleep(20);
      assert.ok(seen.some((e) => e.record?.valueJson.includes("still-here")));
      assert.ok(!seen.some((e) => e.record?.valueJson.includes("hijacked")));
      stop();
    } finally {
      for (const c of conns) c.close();
      await broker.close();
    }
  });
});
