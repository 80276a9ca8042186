/**
 * A gateway engine made anew on the view its predecessor used — a standalone leader whose lease
 * renewal timed out (engine paused) and who leads again, or one that regained its lease — runs its
 * first pass on the broker's records, not on the emptied cache: it keeps its cables, and neither
 * republishes its Endpoint nor publishes one without the cluster's global CIDR (real broker, fake host).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Endpoint } from "@causeway/api";
import { host, silentLogger, view } from "@causeway/common";
import type { CableState, LocalCable, RemoteCable } from "./cable/driver.ts";
import { brokerFixture } from "./brokerfixture.test.ts";
import { VxlanCableDriver } from "./cable/vxlan.ts";
import { GatewayEngine, localEndpoint } from "./engine.ts";
import { BrokerGlobalnetSource } from "./globalnet.ts";

const log = silentLogger();

/** Records how many remotes each sync was asked to carry. */
class RecordingDriver extends VxlanCableDriver {
  readonly syncs: number[] = [];
  override async sync(local: LocalCable, remotes: readonly RemoteCable[]): Promise<CableState[]> {
    this.syncs.push(remotes.length);
    return super.sync(local, remotes);
  }
}

describe("gateway engine made anew on the same broker view (real broker, fake host)", () => {
  const broker = brokerFixture("causeway-reelected-", { globalnet: true });

  it("its first pass carries the cables the broker's records call for, and its Endpoint (with the global CIDR) is not written again", async () => {
    const admin = broker.admin();
    const j1 = await admin.join({ cluster_id: "c1", cluster_cidr: ["10.244.0.0/16"], service_cidr: [], global_cidr: ["242.1.0.0/16"] });
    const j2 = await admin.join({ cluster_id: "c2", cluster_cidr: ["10.244.0.0/16"], service_cidr: [], global_cidr: ["242.2.0.0/16"] });
    const mine = broker.connect(j1.token);
    const theirs = broker.connect(j2.token);
    const site = { clusterId: "c1", clusterCIDRs: ["10.244.0.0/16"], serviceCIDRs: [] };
    const remote = localEndpoint(
      {
        site: { clusterId: "c2", clusterCIDRs: ["10.244.0.0/16"], serviceCIDRs: [] },
        nodeName: "n0",
        privateIp: "127.0.2.10",
        healthCheckIp: "10.244.0.1",
        driver: new VxlanCableDriver(host.fakeHostAdapters()),
      },
      "",
      24902,
      "242.2.0.0/16",
    );
    await theirs.put("endpoint", "c2", remote.cable_name, remote);
    // An endpoint of another node of c1 (the gateway it takes over from): its cables come at once.
    const old = localEndpoint({
      site,
      nodeName: "n0",
      privateIp: "127.0.1.10",
      healthCheckIp: "10.244.0.1",
      driver: new VxlanCableDriver(host.fakeHostAdapters()),
    });
    await mine.put("endpoint", "c1", old.cable_name, old);

    const brokerView = new view.BrokerEndpointView(mine, log, ["endpoint", "cluster", "export"]);
    const sink = new view.BrokerGatewaySink(mine, "c1");
    const puts: Endpoint[] = [];
    const driver = new RecordingDriver(host.fakeHostAdapters());
    const make = () =>
      new GatewayEngine({
        site,
        nodeName: "n1",
        privateIp: "127.0.1.11",
        healthCheckIp: "10.244.0.1",
        underlayMtu: 1500,
        natDiscovery: { port: 24801, bindAddress: "127.0.1.11", sourceFor: async () => "127.0.1.11", timeoutMs: 60_000 },
        view: brokerView,
        sink: {
          putEndpoint: async (ep) => {
            puts.push(ep);
            await sink.putEndpoint(ep);
          },
          deleteEndpoint: (ep) => sink.deleteEndpoint(ep),
          putStatus: (node, st) => sink.putStatus(node, st),
          deleteStatus: (node) => sink.deleteStatus(node),
        },
        driver,
        globalnet: { source: new BrokerGlobalnetSource(brokerView, "c1"), nat: new host.FakeGlobalNat() },
        log,
        version: "test",
      });
    const until = async (what: string, f: () => boolean) => {
      for (let i = 0; i < 250 && !f(); i++) await new Promise((r) => setTimeout(r, 20));
      assert.ok(f(), what);
    };

    const first = make();
    first.start();
    await until("the first engine published its Endpoint", () => puts.length === 1);
    await until("and carries the cable to c2", () => driver.syncs.includes(1));
    assert.deepEqual(puts[0]?.subnets, ["242.1.0.0/16"]);
    await first.stop();

    driver.syncs.length = 0;
    const again = make();
    again.start();
    try {
      await until("the new engine ran a pass", () => again.loop.passes > 0);
      assert.equal(driver.syncs[0], 1, `its first pass carries the cable to c2 (remotes per sync: ${driver.syncs.join(",")})`);
      assert.ok(!driver.syncs.includes(0), "no pass dropped the cables");
      assert.equal(
        puts.length,
        1,
        `its Endpoint unchanged, not written again (written with subnets ${puts
          .slice(1)
          .map((p) => p.subnets.join(" "))
          .join("; ")})`,
      );
      assert.deepEqual([...(await driver.installedRemotes())], ["127.0.2.10"]);
    } finally {
      await again.stop();
    }
  });
});
