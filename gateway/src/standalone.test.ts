/**
 * A standalone gateway candidate that starts while another holds the cluster's lease drops the
 * cables it finds on its host; when that fails it tries again while it follows, and reports itself
 * passive once they are gone (real broker, fake host).
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startBroker } from "@causeway/broker";
import { host, silentLogger, STANDALONE_LEASE, view } from "@causeway/common";
import { BrokerConnection } from "@causeway/common/broker-client";
import { VxlanCableDriver } from "./cable/vxlan.ts";
import { PASSIVE_RETRY_MS } from "./engine.ts";
import { STANDALONE_GATEWAY_LEASE } from "@causeway/api";
import { SiteGateway } from "./standalone.ts";

const log = silentLogger();

/** VXLAN cables on a fake host whose first `failures` cleanups fail, as a busy host's `ip` may. */
class FlakyCleanupDriver extends VxlanCableDriver {
  cleanups: number[] = [];
  #failures: number;
  constructor(failures: number) {
    super(host.fakeHostAdapters());
    this.#failures = failures;
  }
  override async cleanup(): Promise<void> {
    this.cleanups.push(performance.now());
    if (this.#failures-- > 0) throw new Error("RTNETLINK answers: Device or resource busy");
    await super.cleanup();
  }
}

describe("standalone gateway candidate becoming passive", () => {
  const dir = mkdtempSync(join(tmpdir(), "causeway-site-gateway-"));
  const sock = `unix://${join(dir, "broker.sock")}`;
  let broker: Awaited<ReturnType<typeof startBroker>>;
  let token = "";
  const conns: BrokerConnection[] = [];
  before(async () => {
    broker = await startBroker({ listen: [sock], db: join(dir, "broker.db"), adminTokenFile: join(dir, "admin-token") }, log);
    const admin = new BrokerConnection({ address: sock, token: readFileSync(join(dir, "admin-token"), "utf8").trim() });
    token = (await admin.join({ cluster_id: "c1", cluster_cidr: ["10.1.0.0/16"], service_cidr: [], global_cidr: [] })).token;
    admin.close();
  });
  after(async () => {
    for (const c of conns) c.close();
    await broker?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("a failed cable drop is tried again after PASSIVE_RETRY_MS while another candidate leads; passive once the cables are gone", async () => {
    const conn = new BrokerConnection({ address: sock, token });
    conns.push(conn);
    // n0 leads (its lease outlives the test).
    const held = await conn.acquireLease(STANDALONE_GATEWAY_LEASE, "n0", 60_000);
    assert.equal(held.holder, "n0");
    const driver = new FlakyCleanupDriver(2);
    const statuses: { node: string; haStatus: string; at: number }[] = [];
    const sink = new view.BrokerGatewaySink(conn, "c1");
    const gw = new SiteGateway({
      site: { clusterId: "c1", clusterCIDRs: ["10.1.0.0/16"], serviceCIDRs: [] },
      nodeName: "n1",
      privateIp: "127.0.1.11",
      healthCheckIp: "10.1.0.1",
      underlayMtu: 1500,
      view: new view.BrokerEndpointView(conn, log),
      sink: {
        putEndpoint: (ep) => sink.putEndpoint(ep),
        deleteEndpoint: (ep) => sink.deleteEndpoint(ep),
        putStatus: async (node, st) => {
          statuses.push({ node, haStatus: st.haStatus, at: performance.now() });
          await sink.putStatus(node, st);
        },
        deleteStatus: (node) => sink.deleteStatus(node),
      },
      driver,
      log,
      version: "test",
      leases: conn,
      election: STANDALONE_LEASE,
      candidates: 2,
    });
    try {
      gw.start();
      const deadline = performance.now() + 5000;
      while (!statuses.length && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.equal(gw.role, "follower");
      assert.deepEqual(
        statuses.map((s) => [s.node, s.haStatus]),
        [["n1", "passive"]],
        "passive only once the cables are gone",
      );
      assert.equal(driver.cleanups.length, 3, "two failed drops, then one that worked");
      for (let i = 1; i < 3; i++) {
        const gap = (driver.cleanups[i] ?? 0) - (driver.cleanups[i - 1] ?? 0);
        // Timers may fire up to 1 ms early on the millisecond clock; a retry is not left for long either.
        assert.ok(gap >= PASSIVE_RETRY_MS - 1 && gap < PASSIVE_RETRY_MS + 500, `retry ${i} after ${gap} ms`);
      }
      assert.ok((statuses[0]?.at ?? 0) >= (driver.cleanups[2] ?? Infinity), "the status follows the drop that worked");
    } finally {
      await gw.stop();
    }
  });
});
