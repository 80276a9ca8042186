/**
 * The gateway engine drains a withdrawn active-active remote gateway: the next pass hands it to
 * the driver marked draining (its cable kept, receive-only), and a pass of its own removes it once
 * the drain time is over, with no event from the view (in-memory view, recording driver).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Endpoint } from "@causeway/api";
import { silentLogger, type view } from "@causeway/common";
import type { CableDriver, CableState, RemoteCable } from "./cable/driver.ts";
import { GatewayEngine } from "./engine.ts";

const log = silentLogger();
const remote = (node: string, slot: number): Endpoint => ({
  cluster_id: "c2",
  cable_name: `cable-c2-${node}`,
  healthCheckIP: "10.2.0.1",
  hostname: node,
  subnets: ["10.2.0.0/16"],
  private_ip: `127.0.2.${slot}`,
  public_ip: "",
  nat_enabled: false,
  backend: "vxlan",
  backend_config: { "gateway-mode": "active-active", "gateway-slot": String(slot) },
});

/** An endpoint view whose content the test sets (`set` tells the engine). */
class MemoryView implements view.EndpointView {
  readonly synced = Promise.resolve();
  #eps: Endpoint[] = [];
  #onChange: () => void = () => {};
  start(onChange: () => void): void {
    this.#onChange = onChange;
  }
  stop(): void {}
  set(eps: Endpoint[]): void {
    this.#eps = eps;
    this.#onChange();
  }
  endpoints(): Map<string, Endpoint> {
    return new Map(this.#eps.map((ep) => [ep.cluster_id, ep]));
  }
  endpointsOf(clusterId: string): Endpoint[] {
    return this.#eps.filter((ep) => ep.cluster_id === clusterId);
  }
}

/** A driver recording each pass's remote gateways (draining ones marked) and when. */
function recordingDriver(passes: { at: number; remotes: string[] }[]): CableDriver {
  return {
    name: "vxlan",
    async sync(_local, remotes: readonly RemoteCable[]): Promise<CableState[]> {
      passes.push({ at: performance.now(), remotes: remotes.map((r) => `${r.endpoint.hostname}${r.draining ? " draining" : ""}`) });
      return remotes.map((r) => ({ clusterId: r.endpoint.cluster_id, status: "connected", message: "" }));
    },
    async cleanup() {},
    async removeDevice() {},
  };
}

/** An engine of c1's gateway n0 (slot 1) over `view` and `driver`, its status writes going to `putStatus`. */
function engineOf(view: MemoryView, driver: CableDriver, putStatus: view.GatewaySink["putStatus"], drainMs: number): GatewayEngine {
  return new GatewayEngine({
    site: { clusterId: "c1", clusterCIDRs: ["10.1.0.0/16"], serviceCIDRs: [] },
    nodeName: "n0",
    privateIp: "127.0.1.1",
    healthCheckIp: "10.1.0.1",
    underlayMtu: 1500,
    natDiscovery: { port: 0, sourceFor: async () => undefined },
    view,
    sink: { putEndpoint: async () => {}, deleteEndpoint: async () => {}, putStatus, deleteStatus: async () => {} },
    driver,
    log,
    version: "test",
    gatewaySlot: 1,
    drainMs,
  });
}

/** Resolves once `f()` holds; fails after 3 s naming `what` and the passes. */
async function until(what: string, f: () => boolean, passes: unknown): Promise<void> {
  const end = performance.now() + 3000;
  while (!f()) {
    if (performance.now() > end) throw new Error(`${what}: not within 3000 ms; passes ${JSON.stringify(passes)}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("gateway engine: draining remote gateways", () => {
  it("a remote gateway withdrawn from a cluster with another: carried draining (no state of it reported), then gone after the drain time by a pass of its own", async () => {
    const passes: { at: number; remotes: string[] }[] = [];
    const v = new MemoryView();
    const statuses: { at: number; hosts: string[] }[] = [];
    const e = engineOf(
      v,
      recordingDriver(passes),
      async (_n, st) => void statuses.push({ at: performance.now(), hosts: st.connections.map((c) => c.endpoint.hostname) }),
      300,
    );
    const last = () => passes.at(-1)?.remotes.join(",");
    try {
      v.set([remote("m0", 1), remote("m1", 2)]);
      e.start();
      await until("both remote gateways carried", () => last() === "m0,m1", passes);
      const t0 = performance.now();
      v.set([remote("m1", 2)]);
      await until("m0 draining", () => last() === "m1,m0 draining", passes);
      const drainingAt = passes.at(-1)?.at ?? 0;
      await until("m0 gone", () => last() === "m1", passes);
      const gone = passes.find((p) => p.remotes.join(",") === "m1");
      const ms = Math.round((gone?.at ?? 0) - t0);
      assert.ok(ms >= 300 && ms < 800, `m0 removed ${ms} ms after its withdrawal (drain 300 ms)`);
      // From the pass that drains it on, the status lists m1 alone: a draining gateway is no connection.
      const after = statuses.filter((st) => st.at >= drainingAt).map((st) => st.hosts.join(","));
      assert.ok(after.length > 0, "a status after m0 was withdrawn");
      assert.deepEqual(new Set(after), new Set(["m1"]));
    } finally {
      await e.stop();
    }
  });

  it("a slow status write holds no pass back: a remote gateway withdrawn while the API server takes 2 s to write the status is drained at once; the write that failed is made again", async () => {
    const passes: { at: number; remotes: string[] }[] = [];
    const v = new MemoryView();
    let slow = false;
    let failing = false;
    const written: string[] = [];
    const e = engineOf(
      v,
      recordingDriver(passes),
      async (_n, st) => {
        if (slow) await new Promise((r) => setTimeout(r, 2000));
        if (failing) throw new Error("the server is currently unable to handle the request");
        written.push(st.connections.map((c) => c.endpoint.hostname).join(","));
      },
      5000,
    );
    const last = () => passes.at(-1)?.remotes.join(",");
    try {
      v.set([remote("m0", 1), remote("m1", 2)]);
      e.start();
      await until("both remote gateways carried", () => last() === "m0,m1", passes);
      await e.settled();
      slow = true;
      failing = true;
      v.set([remote("m0", 1), remote("m1", 2), remote("m2", 3)]);
      // This pass's status write is now under way (2 s, then it fails).
      await until("m2 carried", () => last() === "m0,m1,m2", passes);
      const t0 = performance.now();
      v.set([remote("m1", 2), remote("m2", 3)]);
      await until("m0 draining", () => last() === "m1,m2,m0 draining", passes);
      const ms = Math.round((passes.at(-1)?.at ?? 0) - t0);
      assert.ok(ms < 300, `the pass that drains m0 came ${ms} ms after its withdrawal, not after the status write`);
      slow = false;
      failing = false;
      // The failed write is made again (by a pass STATUS_RETRY_MS after it failed), from the latest pass.
      await until("the status written again", () => written.at(-1) === "m1,m2", passes);
    } finally {
      await e.stop();
    }
  });
});
