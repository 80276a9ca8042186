/**
 * Kubernetes tier: our client, typed watcher and Lease election against a real kube-apiserver
 * and etcd (built from the official modules, in a network namespace of their own).
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { kube, silentLogger } from "@causeway/common";
import { z } from "zod";
import { until } from "@causeway/lab";
import { type KubeFixture, startKubeFixture } from "./harness.ts";

const NS = "default";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const CmSchema = z.looseObject({
  metadata: z.looseObject({ name: z.string(), namespace: z.string().optional(), resourceVersion: z.string().optional() }),
  data: z.record(z.string(), z.string().regex(/^ok/)),
});

describe("kube tier (lab): client, watcher, lease", { timeout: 600_000 }, () => {
  let fx: KubeFixture;
  let admin: kube.KubeClient;
  before(async () => {
    fx = await startKubeFixture("cwkt", { limited: [] });
    admin = await fx.client();
  });
  after(async () => {
    await fx?.stop();
  });

  test("kube errors are typed: unreachable within seconds, forbidden names the permission, conflict, not found", async () => {
    const t0 = Date.now();
    const nowhere = await kube.KubeClient.connect({
      kubeconfig: fx.api.writeKubeconfig(`${fx.api.o.dir}/nowhere.kubeconfig`, { context: "x", server: "https://127.0.0.1:1", socket: false }),
    });
    await assert.rejects(
      nowhere.list(kube.R.node),
      (e) => e instanceof kube.KubeUnreachableError && /cannot reach the API server https:\/\/127\.0\.0\.1:1/.test(e.message),
    );
    assert.ok(Date.now() - t0 < 5000);
    nowhere.close();
    const limited = await fx.client("limited");
    await assert.rejects(limited.list(kube.R.node), (e) => e instanceof kube.KubeForbiddenError && e.permission === "list nodes (cluster-wide)");
    await assert.rejects(
      limited.get(kube.R.lease, "kube-system", "x"),
      (e) => e instanceof kube.KubeForbiddenError && e.permission === "get leases.coordination.k8s.io in namespace kube-system",
    );
    await assert.rejects(admin.get(kube.R.configMap, NS, "absent"), kube.KubeNotFoundError);
    const cm = await admin.create<{ metadata: kube.ObjectMeta }>(kube.R.configMap, { metadata: { name: "conflict", namespace: NS } });
    await assert.rejects(
      admin.create(kube.R.configMap, { metadata: { name: "conflict", namespace: NS } }),
      (e) => e instanceof kube.KubeConflictError && e.alreadyExists,
    );
    await admin.replace(kube.R.configMap, { metadata: cm.metadata, ...{ data: { a: "1" } } });
    await assert.rejects(admin.replace(kube.R.configMap, { metadata: cm.metadata }), (e) => e instanceof kube.KubeConflictError && !e.alreadyExists);
    await assert.rejects(admin.create(kube.R.configMap, { metadata: { name: "Bad_Name", namespace: NS } }), kube.KubeInvalidError);
  });

  test("server-side apply is idempotent: the same object applied twice changes nothing", async () => {
    const obj = { metadata: { name: "applied", namespace: NS, labels: { a: "b" } }, data: { k: "v" } };
    const first = await admin.apply<{ metadata: kube.ObjectMeta }>(kube.R.configMap, obj, { fieldManager: "causeway-test" });
    const second = await admin.apply<{ metadata: kube.ObjectMeta }>(kube.R.configMap, obj, { fieldManager: "causeway-test" });
    assert.equal(second.metadata.resourceVersion, first.metadata.resourceVersion);
  });

  test("watcher: list then watch, validated objects only, and a resync after the API server restarts (410 → relist)", async () => {
    const w = new kube.KubeWatcher({
      client: admin,
      type: kube.R.configMap,
      namespace: NS,
      labelSelector: "t=watch",
      schema: CmSchema,
      log: silentLogger(),
      minBackoffMs: 100,
      maxBackoffMs: 500,
    });
    const cm = (name: string, v: string) => ({ metadata: { name, namespace: NS, labels: { t: "watch" } }, data: { v } });
    await admin.apply(kube.R.configMap, cm("w1", "ok-1"), { fieldManager: "t" });
    w.start();
    try {
      await w.synced;
      assert.deepEqual(
        w.items().map((o) => o.metadata.name),
        ["w1"],
      );
      await admin.apply(kube.R.configMap, cm("w2", "ok-2"), { fieldManager: "t" });
      await admin.apply(kube.R.configMap, cm("bad", "not ok"), { fieldManager: "t" });
      await until("w2 seen", async () => (w.get(NS, "w2") ? true : undefined), 10_000);
      assert.equal(w.get(NS, "bad"), undefined, "an object failing the schema never reaches handlers");
      await fx.api.stopApiServer();
      await until("watcher notices", async () => (w.health.connected ? undefined : true), 10_000);
      await fx.api.startApiServer(fx.binary);
      // Changes made before the watcher is back: it must catch up by itself.
      await admin.delete(kube.R.configMap, NS, "w1");
      await admin.apply(kube.R.configMap, cm("w3", "ok-3"), { fieldManager: "t" });
      await until("watcher resynced", async () => (!w.get(NS, "w1") && w.get(NS, "w3") && w.health.connected ? true : undefined), 20_000);
      assert.deepEqual(
        w
          .items()
          .map((o) => o.metadata.name)
          .sort(),
        ["w2", "w3"],
      );
    } finally {
      w.stop();
    }
  });

  const elector = (identity: string, o: Partial<kube.LeaseElectorOptions> = {}) =>
    new kube.LeaseElector({
      client: admin,
      namespace: NS,
      name: o.name ?? "lock",
      identity,
      leaseDurationMs: 2000,
      renewDeadlineMs: 1500,
      retryPeriodMs: 300,
      log: silentLogger(),
      onStartedLeading: () => {},
      onStoppedLeading: () => {},
      ...o,
    });

  test("lease: no takeover while the holder renews; takeover after expiry counts a transition", async () => {
    const a = elector("a", { name: "expiry" });
    const b = elector("b", { name: "expiry" });
    assert.equal(await a.tryAcquireOrRenew(), true);
    const end = Date.now() + 3500; // longer than the lease duration
    while (Date.now() < end) {
      assert.equal(await a.tryAcquireOrRenew(), true, "the holder renews");
      assert.equal(await b.tryAcquireOrRenew(), false, "no takeover while renewed");
      await sleep(400);
    }
    // a stops renewing (a crash): b waits a full lease duration from when it last saw a change.
    assert.equal(await b.tryAcquireOrRenew(), false);
    await sleep(1000);
    assert.equal(await b.tryAcquireOrRenew(), false, "not yet expired");
    await sleep(1200);
    assert.equal(await b.tryAcquireOrRenew(), true, "expired: b takes over");
    assert.equal(b.observed.record?.holderIdentity, "b");
    assert.equal(b.observed.record?.leaseTransitions, 1);
    assert.equal(await a.tryAcquireOrRenew(), false, "a, back, finds b holding");
  });

  test("lease: conflicting writers — exactly one wins a free lease; a stale resourceVersion loses the round", async () => {
    for (let i = 0; i < 5; i++) {
      const cs = ["x", "y", "z"].map((id) => elector(id, { name: `race-${i}` }));
      const won = await Promise.all(cs.map((c) => c.tryAcquireOrRenew()));
      assert.equal(won.filter(Boolean).length, 1, `round ${i}: ${JSON.stringify(won)}`);
    }
    // A write based on an old resourceVersion is refused by the server (409), and the loser does not think it leads.
    const lease = await admin.get<{ metadata: kube.ObjectMeta; spec: kube.LeaseRecord }>(kube.R.lease, NS, "race-0");
    const holder = elector(lease.spec.holderIdentity ?? "", { name: "race-0" });
    assert.equal(await holder.tryAcquireOrRenew(), true);
    await assert.rejects(
      admin.replace(kube.R.lease, { metadata: lease.metadata, ...{ spec: { ...lease.spec, holderIdentity: "thief" } } }),
      kube.KubeConflictError,
    );
  });

  /** Two running candidates p and q on lease `name`; `body` gets them once exactly one leads (leader first). Both stopped after. */
  async function twoCandidates(name: string, body: (leader: kube.LeaseElector, other: kube.LeaseElector, leading: Set<string>) => Promise<void>) {
    const leading = new Set<string>();
    const mk = (id: string) => elector(id, { name, onStartedLeading: () => leading.add(id), onStoppedLeading: () => leading.delete(id) });
    const p = mk("p");
    const q = mk("q");
    p.start();
    q.start();
    try {
      await until("one leader", async () => (leading.size === 1 ? true : undefined), 10_000);
      const [first] = [...leading];
      const [leader, other] = first === "p" ? [p, q] : [q, p];
      await body(leader, other, leading);
    } finally {
      await p.stop();
      await q.stop();
    }
  }

  test("lease: two running candidates — exactly one leads; a graceful stop releases and the other takes over within a retry period", async () => {
    await twoCandidates("run", async (leader, other, leading) => {
      await sleep(2500);
      assert.equal(leading.size, 1, "still exactly one leader after a full lease duration");
      const t0 = Date.now();
      await leader.stop();
      const lease = await admin.get<{ spec: kube.LeaseRecord }>(kube.R.lease, NS, "run");
      assert.equal(lease.spec.holderIdentity, "", "released on graceful stop");
      await until("successor", async () => (other.isLeader ? true : undefined), 5000);
      assert.ok(Date.now() - t0 < 1500, `successor after ${Date.now() - t0} ms (no wait for expiry)`);
    });
  });

  test("lease: a leader that withdraws (underlay down) releases at once and follows; eligible again, it campaigns", async () => {
    await twoCandidates("withdraw", async (leader, other) => {
      const t0 = Date.now();
      await leader.setEligible(false);
      assert.equal(leader.isLeader, false);
      await until("successor", async () => (other.isLeader ? true : undefined), 5000);
      assert.ok(Date.now() - t0 < 1500, `successor after ${Date.now() - t0} ms (no wait for expiry)`);
      await leader.setEligible(true);
      await other.stop();
      await until("the first leads again", async () => (leader.isLeader ? true : undefined), 5000);
    });
  });
});
