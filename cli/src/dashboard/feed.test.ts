/**
 * The dashboard feed contract: the in-memory feed (the server tests' fake) and the broker feed
 * (a real broker on a Unix socket) behave alike — not synced before the first read, a record
 * written reaches onChange and source(), an unreachable target is a problem (the last source
 * kept), reachable again it is none.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Cluster } from "@causeway/api";
import { startBroker } from "@causeway/broker";
import { silentLogger } from "@causeway/common";
import { BrokerConnection } from "@causeway/common/broker-client";
import { BrokerFeed, MemoryFeed } from "./feed.ts";
import type { DashFeed } from "./server.ts";

const cluster = (id: string, n: number): Cluster => ({ cluster_id: id, cluster_cidr: [`10.${n}.0.0/16`], service_cidr: [], global_cidr: [] });

interface FeedFixture {
  feed: DashFeed;
  putCluster(c: Cluster): Promise<void>;
  /** The target stops answering. */
  cut(): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

async function until(what: string, f: () => boolean, ms = 5000): Promise<void> {
  const end = performance.now() + ms;
  while (!f()) {
    if (performance.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function feedContract(name: string, make: () => Promise<FeedFixture>): void {
  describe(`dashboard feed contract: ${name}`, () => {
    let f: FeedFixture;
    let changes = 0;
    before(async () => {
      f = await make();
    });
    after(async () => {
      f.feed.stop();
      await f.close();
    });

    it("not synced before its first read; then a written record reaches onChange and source()", async () => {
      assert.equal(f.feed.synced(), false);
      f.feed.start(() => changes++);
      await f.putCluster(cluster("c1", 1));
      await until("c1 in the source", () => f.feed.source().clusters.has("c1"));
      assert.equal(f.feed.synced(), true);
      assert.ok(changes > 0);
      assert.equal(f.feed.problem(), undefined);
      const seen = changes;
      await f.putCluster(cluster("c2", 2));
      await until("c2 in the source", () => f.feed.source().clusters.has("c2") && changes > seen);
    });

    it("an unreachable target is a problem, told through onChange, and the last source is kept; reachable again, no problem", async () => {
      const seen = changes;
      await f.cut();
      await until("a problem", () => f.feed.problem() !== undefined && changes > seen);
      assert.deepEqual([...f.feed.source().clusters.keys()].sort(), ["c1", "c2"]);
      await f.restore();
      await until("no problem", () => f.feed.problem() === undefined, 10_000);
      await f.putCluster(cluster("c3", 3));
      await until("c3 in the source", () => f.feed.source().clusters.has("c3"));
    });
  });
}

feedContract("in memory", async () => {
  const feed = new MemoryFeed();
  const clusters = new Map<string, Cluster>();
  return {
    feed,
    async putCluster(c) {
      clusters.set(c.cluster_id, c);
      feed.set({ clusters: new Map(clusters) });
    },
    async cut() {
      feed.fail("unreachable");
    },
    async restore() {
      feed.fail(undefined);
    },
    async close() {},
  };
});

feedContract("a real broker", async () => {
  const dir = mkdtempSync(join(tmpdir(), "cw-dashfeed-"));
  const sock = `unix://${join(dir, "broker.sock")}`;
  const opts = { listen: [sock], db: join(dir, "broker.db"), adminTokenFile: join(dir, "admin-token") };
  let broker = await startBroker(opts, silentLogger());
  const { readFileSync } = await import("node:fs");
  const token = readFileSync(join(dir, "admin-token"), "utf8").trim();
  const watchConn = new BrokerConnection({ address: sock, token });
  const writeConn = () => new BrokerConnection({ address: sock, token });
  let writer = writeConn();
  return {
    feed: new BrokerFeed(watchConn, silentLogger()),
    async putCluster(c) {
      await writer.join(c);
    },
    async cut() {
      writer.close();
      await broker.close();
    },
    async restore() {
      broker = await startBroker(opts, silentLogger());
      writer = writeConn();
    },
    async close() {
      writer.close();
      watchConn.close();
      await broker.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
