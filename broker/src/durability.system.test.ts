/**
 * A kill -9 of the SQLite broker in the middle of a stream of writes loses no acknowledged write:
 * the broker runs as its own process (node broker/src/main.ts on a Unix socket), eight writers
 * keep writing, the process is killed without warning, started again on the same file, and every
 * write that was acknowledged before the kill is there with its revision.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { exportName, unavailableExport } from "@causeway/api";
import { BrokerConnection } from "@causeway/common/broker-client";

const dir = mkdtempSync(join(tmpdir(), "causeway-durable-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const sock = `unix://${join(dir, "broker.sock")}`;
const tokenFile = join(dir, "admin-token");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function start(): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [join(import.meta.dirname, "main.ts"), "--listen", sock, "--db", join(dir, "broker.db"), "--admin-token-file", tokenFile],
    {
      stdio: "ignore",
    },
  );
  for (let i = 0; i < 200; i++) {
    if (existsSync(tokenFile)) {
      const c = new BrokerConnection({ address: sock, token: readFileSync(tokenFile, "utf8").trim() });
      const up = await c.whoAmI().then(
        () => true,
        () => false,
      );
      c.close();
      if (up) return child;
    }
    await sleep(50);
  }
  throw new Error("the broker did not start");
}

describe("SQLite broker durability", () => {
  it("kill -9 during writes: every acknowledged write survives", { timeout: 60_000 }, async () => {
    let broker = await start();
    const admin = new BrokerConnection({ address: sock, token: readFileSync(tokenFile, "utf8").trim() });
    const { token } = await admin.join({ cluster_id: "d1", cluster_cidr: ["10.1.0.0/16"], service_cidr: [], global_cidr: [] });
    const acked = new Map<string, number>();
    let stop = false;
    const writer = async (w: number) => {
      const c = new BrokerConnection({ address: sock, token, callTimeoutMs: 2000 });
      for (let i = 0; !stop; i++) {
        const name = `w${w}-${i}`;
        const value = unavailableExport({ namespace: "d", name, type: "ClusterSetIP", exportedAt: new Date().toISOString() }, "a durability test record");
        try {
          const rec = await c.put("export", "d1", exportName("d", name), value);
          acked.set(exportName("d", name), Number(rec?.revision ?? 0));
        } catch {
          break; // the broker is gone: this write was never acknowledged
        }
      }
      c.close();
    };
    const writers = Array.from({ length: 8 }, (_, w) => writer(w));
    await sleep(700);
    broker.kill("SIGKILL");
    await Promise.all(writers);
    stop = true;
    const before = acked.size;
    assert.ok(before > 50, `${before} writes acknowledged before the kill`);
    broker = await start();
    try {
      const c = new BrokerConnection({ address: sock, token });
      const { records } = await c.list("export");
      c.close();
      const stored = new Map(records.map((r) => [r.name, Number(r.revision)]));
      const lost = [...acked].filter(([name, rev]) => stored.get(name) !== rev);
      assert.deepEqual(lost, [], `${lost.length} of ${before} acknowledged writes lost`);
    } finally {
      admin.close();
      broker.kill("SIGTERM");
    }
  });
});
