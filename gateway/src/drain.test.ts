/** Withdrawn active-active remote gateways drain: kept receive-only for a while, unless displaced (pure). */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Endpoint } from "@causeway/api";
import type { RemoteCable } from "./cable/driver.ts";
import { DRAIN_MS, DrainingRemotes } from "./drain.ts";

const gw = (cluster: string, node: string, slot?: number): RemoteCable => {
  const endpoint: Endpoint = {
    cluster_id: cluster,
    cable_name: `cable-${cluster}-${node}`,
    healthCheckIP: "",
    hostname: node,
    subnets: ["10.2.0.0/16"],
    private_ip: "198.18.2.10",
    public_ip: "",
    nat_enabled: false,
    backend: "wireguard",
    backend_config: slot === undefined ? {} : { "gateway-mode": "active-active", "gateway-slot": String(slot) },
  };
  return { endpoint, usingIP: endpoint.private_ip, usingNAT: false };
};
const shown = (rs: readonly RemoteCable[]) => rs.map((r) => `${r.endpoint.cluster_id}/${r.endpoint.hostname}${r.draining ? " draining" : ""}`);

describe("draining remote gateways", () => {
  it("a gateway gone from an active-active cluster with others drains for the drain time, then goes; a pass is due when it ends", () => {
    const d = new DrainingRemotes(1000);
    const [a, b] = [gw("c2", "n0", 1), gw("c2", "n1", 2)];
    assert.deepEqual(shown(d.next([a, b], 0)), ["c2/n0", "c2/n1"]);
    assert.equal(d.dueIn(0), undefined);
    assert.deepEqual(shown(d.next([b], 100)), ["c2/n1", "c2/n0 draining"]);
    assert.equal(d.dueIn(400), 700);
    assert.deepEqual(shown(d.next([b], 1099)), ["c2/n1", "c2/n0 draining"]);
    assert.deepEqual(shown(d.next([b], 1100)), ["c2/n1"]);
    assert.equal(d.dueIn(1100), undefined);
    assert.equal(DRAIN_MS, 5000);
  });

  it("back before the drain time ends: live again, not draining", () => {
    const d = new DrainingRemotes(1000);
    const [a, b] = [gw("c2", "n0", 1), gw("c2", "n1", 2)];
    d.next([a, b], 0);
    d.next([b], 10);
    assert.deepEqual(shown(d.next([a, b], 20)), ["c2/n0", "c2/n1"]);
    assert.equal(d.dueIn(20), undefined);
  });

  it("no drain: an active-passive cluster's gateway, a cluster with no gateway left, a gateway whose slot or node another now holds", () => {
    const d = new DrainingRemotes(1000);
    // Active-passive: its successor is another cluster's election, not a second gateway.
    d.next([gw("c3", "n0")], 0);
    assert.deepEqual(shown(d.next([gw("c3", "n1")], 1)), ["c3/n1"]);
    // The cluster's last gateway: nothing to move its flows to.
    d.next([gw("c4", "n0", 1)], 2);
    assert.deepEqual(shown(d.next([], 3)), []);
    // Its slot taken by another node (one peer per slot and cluster), or the node back in another slot.
    d.next([gw("c2", "n0", 1), gw("c2", "n1", 2)], 4);
    assert.deepEqual(shown(d.next([gw("c2", "n2", 1), gw("c2", "n1", 2)], 5)), ["c2/n2", "c2/n1"]);
    d.next([gw("c5", "n0", 1), gw("c5", "n1", 2)], 6);
    const back = { ...gw("c5", "n0", 3), endpoint: { ...gw("c5", "n0", 3).endpoint, cable_name: "cable-c5-n0-new" } };
    assert.deepEqual(shown(d.next([back, gw("c5", "n1", 2)], 7)), ["c5/n0", "c5/n1"]);
  });
});
