/**
 * Kubernetes mode, active-active gateways (issue 23) against a real kube-apiserver and a real
 * broker, each gateway candidate a process of its own on a fake host (e2e/src/kube/aagateway.ts):
 * every candidate takes a slot Lease of its own and publishes an Endpoint object declaring it; one
 * of them syncs with the broker; a candidate killed -9 has its Endpoint deleted by the others once
 * its Lease runs out (at the broker too, also when it was the syncer), and restarted takes its slot
 * back; a candidate stopped gracefully withdraws its Endpoint at once. Needs root (the API server
 * runs in a network namespace).
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { type Endpoint, gatewaySlotOf, SYSTEM_NAMESPACE } from "@causeway/api";
import { startBroker } from "@causeway/broker";
import { kube, silentLogger } from "@causeway/common";
import { BrokerConnection } from "@causeway/common/broker-client";
import { applyManifests, crdManifests, waitCrdsEstablished } from "@causeway/deploy";
import { kubeSlotLease, SYNCER_LEASE } from "@causeway/gateway";
import { until } from "@causeway/lab";
import { type KubeFixture, startKubeFixture } from "./harness.ts";

const root = process.getuid?.() === 0;
const FIXTURE = fileURLToPath(new URL("./aagateway.ts", import.meta.url));
const NODES = ["n0", "n1", "n2"] as const;
/**
 * A killed gateway's Endpoint object is deleted within this long: its Lease (1 s) runs out as the
 * others observe it, plus a round of their stale-Endpoint check (0.2 s) and the LIST's latency.
 */
const REAP_BOUND_MS = 1600;
/** …and at the broker within this long, also when the killed gateway ran the syncer: the syncer Lease (1 s) moves, and the new syncer's first pass. */
const BROKER_BOUND_MS = 2500;
/** A gateway stopped gracefully deletes its own Endpoint object at once: well before its Lease could run out. */
const WITHDRAW_BOUND_MS = 500;

describe("kube mode: active-active gateways (real API server and broker, fake hosts)", { skip: root ? false : "needs root", timeout: 300_000 }, () => {
  let fx: KubeFixture;
  let client: kube.KubeClient;
  const dir = mkdtempSync(join(tmpdir(), "causeway-kaa-"));
  const sock = `unix://${join(dir, "broker.sock")}`;
  let broker: Awaited<ReturnType<typeof startBroker>> | undefined;
  let admin: BrokerConnection | undefined;
  let token = "";
  const procs = new Map<string, ChildProcess>();

  /** Starts node's gateway candidate (its log in the test's directory). */
  function startGateway(node: (typeof NODES)[number]): void {
    const i = NODES.indexOf(node);
    const child = spawn(process.execPath, [FIXTURE, fx.kubeconfig(), sock, token, node, `198.18.1.${10 + i}`], { stdio: ["ignore", "pipe", "pipe"] });
    const out = createWriteStream(join(dir, `${node}.log`), { flags: "a" });
    child.stdout?.pipe(out);
    child.stderr?.pipe(out);
    procs.set(node, child);
  }

  async function stopGateway(node: string, signal: NodeJS.Signals): Promise<void> {
    const child = procs.get(node);
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill(signal);
    await exited;
    procs.delete(node);
  }

  /** The cluster's Endpoint objects: node → slot. */
  async function objects(): Promise<Map<string, number | undefined>> {
    const list = await client.list<{ spec: Endpoint }>(kube.R.endpoint, SYSTEM_NAMESPACE);
    return new Map(list.items.filter((o) => o.spec.cluster_id === "c1").map((o) => [o.spec.hostname, gatewaySlotOf(o.spec)] as const));
  }

  /** c1's Endpoints at the broker, by node. */
  async function atBroker(): Promise<string[]> {
    const { records } = await (admin as BrokerConnection).list("endpoint");
    return records
      .filter((r) => r.clusterId === "c1")
      .map((r) => (JSON.parse(r.valueJson) as Endpoint).hostname)
      .sort();
  }

  async function leaseHolder(name: string): Promise<string> {
    const l = await client.get<{ spec?: { holderIdentity?: string } }>(kube.R.lease, SYSTEM_NAMESPACE, name);
    return l.spec?.holderIdentity ?? "";
  }

  async function allActive(): Promise<Map<string, number | undefined>> {
    let seen = new Map<string, number | undefined>();
    await until(
      "every candidate active with an Endpoint object and at the broker",
      async () => {
        seen = await objects();
        return seen.size === NODES.length && (await atBroker()).length === NODES.length ? true : undefined;
      },
      20_000,
    ).catch(() => assert.fail(`Endpoint objects ${JSON.stringify([...seen])}`));
    return seen;
  }

  before(async () => {
    fx = await startKubeFixture("cwkaa");
    client = await fx.client();
    await client.apply(kube.R.namespace, { metadata: { name: SYSTEM_NAMESPACE } }, { fieldManager: "causeway-test" });
    const crds = crdManifests(kube.R);
    await applyManifests(client, crds);
    await waitCrdsEstablished(client, crds);
    broker = await startBroker(
      { listen: [sock], db: join(dir, "broker.db"), adminTokenFile: join(dir, "admin-token"), bookmarkIntervalMs: 200 },
      silentLogger(),
    );
    admin = new BrokerConnection({ address: sock, token: readFileSync(join(dir, "admin-token"), "utf8").trim() });
    token = (await admin.join({ cluster_id: "c1", cluster_cidr: ["10.1.0.0/16"], service_cidr: ["10.101.0.0/16"], global_cidr: [] })).token;
    for (const n of NODES) startGateway(n);
  });
  after(async () => {
    for (const n of [...procs.keys()]) await stopGateway(n, "SIGKILL");
    admin?.close();
    await broker?.close();
    await fx?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("every candidate is active in a slot of its own, its Endpoint object declaring it; one of them syncs all three to the broker", async () => {
    const seen = await allActive();
    assert.deepEqual([...seen.values()].sort(), [1, 2, 3], JSON.stringify([...seen]));
    for (const [node, slot] of seen) assert.equal(await leaseHolder(kubeSlotLease(slot ?? 0)), `${node}-causeway-gateway`);
    assert.match(await leaseHolder(SYNCER_LEASE), /^n[0-2]-causeway-gateway$/);
  });

  it(`kill -9 of the syncer's gateway: its Endpoint object is deleted within ${REAP_BOUND_MS} ms and at the broker within ${BROKER_BOUND_MS} ms, its status passive; restarted, it takes its slot back`, async () => {
    const before = await allActive();
    const victim = (await leaseHolder(SYNCER_LEASE)).replace(/-causeway-gateway$/, "");
    const t0 = performance.now();
    await stopGateway(victim, "SIGKILL");
    let reapedMs = 0;
    await until(`${victim}'s Endpoint object deleted`, async () => ((await objects()).has(victim) ? undefined : true), 10_000);
    reapedMs = Math.round(performance.now() - t0);
    await until(`${victim}'s Endpoint gone from the broker`, async () => ((await atBroker()).includes(victim) ? undefined : true), 10_000);
    const brokerMs = Math.round(performance.now() - t0);
    const others = NODES.filter((n) => n !== victim);
    assert.deepEqual(await atBroker(), others);
    assert.notEqual(await leaseHolder(SYNCER_LEASE), `${victim}-causeway-gateway`);
    const status = await client.get<{ status?: { haStatus?: string } }>(kube.R.gateway, SYSTEM_NAMESPACE, victim);
    assert.equal(status.status?.haStatus, "passive");
    console.log(`# kill -9 ${victim} (the syncer): Endpoint object deleted after ${reapedMs} ms, at the broker after ${brokerMs} ms`);
    assert.ok(reapedMs <= REAP_BOUND_MS, `Endpoint object deleted after ${reapedMs} ms`);
    assert.ok(brokerMs <= BROKER_BOUND_MS, `at the broker after ${brokerMs} ms`);

    startGateway(victim as (typeof NODES)[number]);
    const back = await allActive();
    assert.equal(back.get(victim), before.get(victim), `${victim} back in slot ${back.get(victim)}, was ${before.get(victim)}`);
  });

  it(`a graceful stop withdraws: its Endpoint object is deleted within ${WITHDRAW_BOUND_MS} ms, the others keep theirs`, async () => {
    const before = await allActive();
    const victim = "n1";
    const t0 = performance.now();
    const stopped = stopGateway(victim, "SIGTERM");
    await until(`${victim}'s Endpoint object deleted`, async () => ((await objects()).has(victim) ? undefined : true), 5000);
    const ms = Math.round(performance.now() - t0);
    await stopped;
    const now = await objects();
    assert.deepEqual([...now].sort(), [...before].filter(([n]) => n !== victim).sort());
    console.log(`# SIGTERM ${victim}: Endpoint object deleted after ${ms} ms`);
    assert.ok(ms <= WITHDRAW_BOUND_MS, `deleted after ${ms} ms`);
    assert.equal(await leaseHolder(kubeSlotLease(before.get(victim) ?? 0)), "", "its slot Lease released");
    startGateway(victim);
    await allActive();
  });
});
