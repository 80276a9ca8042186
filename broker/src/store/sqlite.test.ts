import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { storeContract } from "./contract.ts";
import { SqliteStore } from "./index.ts";

const dir = mkdtempSync(join(tmpdir(), "causeway-store-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

storeContract("sqlite", () => new SqliteStore(join(dir, `s${n++}.db`)));

describe("SqliteStore durability", () => {
  it("keeps records, revisions and history across reopen", async () => {
    const path = join(dir, "durable.db");
    const a = new SqliteStore(path);
    await a.put({ kind: "endpoint", clusterId: "c1", name: "x", value: '{"v":1}' });
    await a.put({ kind: "endpoint", clusterId: "c1", name: "y", value: '{"v":2}' });
    await a.close();
    const b = new SqliteStore(path);
    assert.equal(await b.revision(), 2);
    assert.equal((await b.get({ kind: "endpoint", clusterId: "c1", name: "y" }))?.value, '{"v":2}');
    const seen: number[] = [];
    (await b.watch(1, [], (e) => seen.push(e.revision)))();
    assert.deepEqual(seen, [2]);
    await b.close();
  });
});
