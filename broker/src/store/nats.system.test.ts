/**
 * The NATS store against a real nats-server (Debian's), in a network namespace of its own: this
 * file re-runs itself inside the namespace (the server listens on that namespace's loopback, never
 * the host's). Inside: the Store contract, then what only a shared bucket has — two broker
 * replicas on one bucket, a server restart.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { AlreadyExistsError, ConflictError } from "@causeway/api";
import { storeContract } from "./contract.ts";
import { bucketKey, NatsStore, recordKeyOf } from "./nats.ts";
import { startNatsServer } from "./natsserver.ts";
import type { StoreEvent } from "./types.ts";

const INSIDE = process.env.CAUSEWAY_NATS_TEST_NS;
const root = process.getuid?.() === 0;

describe("NATS store keys", () => {
  it("record keys map to bucket keys and back, whatever their characters", () => {
    const k = { kind: "export" as const, clusterId: "c1", name: "ns/svc.with dots*>" };
    assert.match(bucketKey(k), /^export\._[A-Za-z0-9_-]+\._[A-Za-z0-9_-]+$/);
    assert.deepEqual(recordKeyOf(bucketKey(k)), k);
    assert.equal(recordKeyOf("nonsense"), undefined);
  });
});

if (!INSIDE) {
  describe("NATS store against nats-server (in its own network namespace)", { skip: root ? false : "needs root for a network namespace" }, () => {
    it("Store contract and replica behaviour, run inside the namespace", { timeout: 300_000 }, (t) => {
      const ns = `cwnats-${process.pid}`;
      spawnSync("ip", ["netns", "del", ns]);
      const add = spawnSync("ip", ["netns", "add", ns], { encoding: "utf8" });
      assert.equal(add.status, 0, add.stderr);
      try {
        spawnSync("ip", ["-n", ns, "link", "set", "lo", "up"]);
        const env: NodeJS.ProcessEnv = { ...process.env, CAUSEWAY_NATS_TEST_NS: ns };
        delete env.NODE_TEST_CONTEXT;
        const r = spawnSync("ip", ["netns", "exec", ns, process.execPath, "--test", "--test-reporter=spec", import.meta.filename], {
          env,
          encoding: "utf8",
          timeout: 280_000,
        });
        t.diagnostic(r.stdout.trim());
        assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
      } finally {
        spawnSync("ip", ["netns", "pids", ns], { encoding: "utf8" })
          .stdout.split("\n")
          .filter(Boolean)
          .forEach((pid) => spawnSync("kill", ["-9", pid]));
        spawnSync("ip", ["netns", "del", ns]);
      }
    });
  });
} else {
  const dir = mkdtempSync(join(tmpdir(), "causeway-nats-"));
  const PORT = 14222;
  const servers = [`nats://127.0.0.1:${PORT}`];
  let server: Awaited<ReturnType<typeof startNatsServer>>;
  const spec = { name: "n1", host: "127.0.0.1", port: PORT, dir, auth: { user: "causeway", password: "test-password" } };
  const auth = { user: "causeway", pass: "test-password" };
  before(async () => {
    server = await startNatsServer(spec);
  });
  after(async () => {
    server.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });
  let n = 0;
  storeContract("nats", () => NatsStore.open({ servers, ...auth, bucket: `contract${n++}` }));

  describe("NATS store: broker replicas on one bucket", () => {
    const ep = (name: string, value = "{}") => ({ kind: "endpoint" as const, clusterId: "c1", name, value });

    it("a write on one replica is seen by the other's reads and watches; revisions are one sequence; conditions hold across replicas", async () => {
      const a = await NatsStore.open({ servers, ...auth, bucket: "shared" });
      const b = await NatsStore.open({ servers, ...auth, bucket: "shared" });
      try {
        const seen: StoreEvent[] = [];
        const stop = await b.watch(0, [], (e) => seen.push(e));
        const x1 = await a.put(ep("x", '{"v":1}'));
        const y1 = await b.put(ep("y"));
        assert.ok(y1.revision > x1.revision);
        const deadline = Date.now() + 5000;
        while ((await b.get(ep("x")))?.revision !== x1.revision && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
        // b's view is behind or current, never ahead; a compare-and-set on a stale revision fails on either replica.
        const x2 = await b.put(ep("x", '{"v":2}'), { expectedRevision: x1.revision });
        await assert.rejects(a.put(ep("x", '{"v":3}'), { expectedRevision: x1.revision }), ConflictError);
        await assert.rejects(a.put(ep("y"), { createOnly: true }), AlreadyExistsError);
        assert.equal(x2.createRevision, x1.revision);
        // An unconditional put on a replica whose mirror is behind still lands (it retries on the newer sequence).
        await a.put(ep("x", '{"v":4}'));
        await a.delete(ep("y"));
        while (seen.length < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
        stop();
        assert.deepEqual(
          seen.map((e) => `${e.type}:${e.record.name}`),
          ["put:x", "put:y", "put:x", "put:x", "delete:y"],
        );
        const revs = seen.map((e) => e.revision);
        assert.deepEqual(
          revs,
          [...revs].sort((p, q) => p - q),
        );
        assert.equal(new Set(revs).size, revs.length);
      } finally {
        await a.close();
        await b.close();
      }
    });

    it("a replica that starts later (or restarts) loads the bucket and resumes watches from a revision", async () => {
      const a = await NatsStore.open({ servers, ...auth, bucket: "later" });
      try {
        for (let i = 0; i < 20; i++) await a.put(ep(`r${i}`));
        const mid = await a.revision();
        for (let i = 20; i < 25; i++) await a.put(ep(`r${i}`));
        const b = await NatsStore.open({ servers, ...auth, bucket: "later" });
        try {
          assert.equal((await b.list("endpoint")).records.length, 25);
          assert.equal(await b.revision(), await a.revision());
          const seen: number[] = [];
          (await b.watch(mid, [], (e) => seen.push(e.revision)))();
          assert.equal(seen.length, 5);
        } finally {
          await b.close();
        }
      } finally {
        await a.close();
      }
    });

    it("nats-server killed (-9) and restarted: the store reconnects, keeps every acknowledged write and resumes", async () => {
      const a = await NatsStore.open({ servers, ...auth, bucket: "restart" });
      try {
        const acked: string[] = [];
        for (let i = 0; i < 50; i++) acked.push((await a.put(ep(`k${i}`))).name);
        const seen: number[] = [];
        const stop = await a.watch(await a.revision(), [], (e) => seen.push(e.revision));
        server.kill("SIGKILL");
        await new Promise((r) => setTimeout(r, 300));
        server = await startNatsServer(spec);
        // Writes go through again once the client is back.
        const deadline = Date.now() + 20_000;
        let after: number | undefined;
        while (after === undefined && Date.now() < deadline) {
          after = await a.put(ep("after-restart")).then(
            (r) => r.revision,
            async () => {
              await new Promise((r) => setTimeout(r, 200));
              return undefined;
            },
          );
        }
        assert.ok(after, "a write succeeded after the restart");
        stop();
        assert.deepEqual(seen, [after]);
        const b = await NatsStore.open({ servers, ...auth, bucket: "restart" });
        try {
          const names = new Set((await b.list("endpoint")).records.map((r) => r.name));
          for (const k of acked) assert.ok(names.has(k), `${k} survived`);
        } finally {
          await b.close();
        }
      } finally {
        await a.close();
      }
    });

    it("wrong credentials are refused by NATS with a clear error", async () => {
      await assert.rejects(NatsStore.open({ servers, user: "causeway", pass: "wrong", bucket: "x" }), /Authorization|authorization/i);
    });
  });
}
