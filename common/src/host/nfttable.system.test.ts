/**
 * The table delta against the real kernel, in a network namespace (root): after one more, one
 * changed and one fewer service among 1,000, the updated table holds exactly what a table loaded
 * whole from the same spec holds; a table deleted or changed behind its back is loaded whole again.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { NetnsRunner, ProcessRunner } from "../exec/index.ts";
import { clustersetNatDigest, clustersetNatModel, type ClustersetNatSpec, type ClustersetService } from "./clustersetnat.ts";
import { NftTable } from "./nfttable.ts";

const root = process.getuid?.() === 0;
const NS = `cwnft${process.pid}`;

const service = (i: number, targets = ["10.244.1.10"]): ClustersetService => ({
  key: `default/s${i}`,
  ip: `243.0.${Math.floor(i / 250)}.${(i % 250) + 1}`,
  ports: [{ protocol: "TCP", port: 80, targets: targets.map((ip) => ({ ip, port: 8080 })) }],
});
const spec = (services: ClustersetService[]): ClustersetNatSpec => ({ services, blocks: ["243.0.0.0/20"] });

/** Pure: a table's content from `nft -j list table`, without handles or its name: sets and maps with sorted elements, chains with their rules. */
function content(json: string): unknown {
  const items = (JSON.parse(json) as { nftables: Record<string, Record<string, unknown>>[] }).nftables;
  const out: Record<string, unknown> = {};
  for (const item of items) {
    const [kind, v] = Object.entries(item)[0] ?? [];
    if (!kind || !v || kind === "metainfo" || kind === "table") continue;
    const name = kind === "rule" ? `rule ${String(v.chain)}` : `${kind} ${String(v.name)}`;
    const { handle: _h, table: _t, elem, ...rest } = v;
    const entry = elem ? { ...rest, elem: (elem as unknown[]).map((e) => JSON.stringify(e)).sort() } : rest;
    out[name] = kind === "rule" ? [...((out[name] as unknown[] | undefined) ?? []), entry] : entry;
  }
  return out;
}

describe("nftables table updated in place (real kernel, a namespace)", { skip: root ? false : "needs root" }, () => {
  const host = new ProcessRunner(30_000);
  const run = new NetnsRunner(host, NS);
  const list = async (table: string) => content((await run.run("nft", ["-j", "list", "table", "ip", table])).stdout);
  before(async () => {
    await host.run("ip", ["netns", "add", NS]);
  });
  after(async () => {
    await host.run("ip", ["netns", "del", NS], { allowFailure: true });
  });

  it("1,000 services, then one more, one changed, one fewer: updated in place to what a whole load of the same spec holds", async () => {
    const thousand = Array.from({ length: 1000 }, (_, i) => service(i));
    const next = [...thousand.filter((_, i) => i !== 9).map((s, i) => (i === 7 ? service(7, ["10.244.1.10", "10.244.2.10"]) : s)), service(1000)];
    const table = new NftTable(run, "causeway-clusterset");
    const t0 = performance.now();
    assert.deepEqual(await table.apply(clustersetNatModel(spec(thousand))), { existed: false, how: "replaced" });
    const t1 = performance.now();
    assert.deepEqual(await table.apply(clustersetNatModel(spec(next))), { existed: true, how: "updated" });
    const t2 = performance.now();
    console.log(`# 1,000 services: whole table loaded in ${Math.round(t1 - t0)} ms, three changed in place in ${Math.round(t2 - t1)} ms`);
    assert.equal(await table.observe(), clustersetNatDigest(spec(next)));
    assert.deepEqual(await table.apply(clustersetNatModel(spec(next))), { existed: true, how: "unchanged" });
    const whole = new NftTable(run, "causeway-reference");
    await whole.apply(clustersetNatModel(spec(next)));
    assert.deepEqual(await list("causeway-clusterset"), await list("causeway-reference"));
    await whole.apply(undefined);
  });

  it("a table deleted or changed behind its back is loaded whole again; deleted, observe says there is none", async () => {
    const table = new NftTable(run, "causeway-clusterset");
    await table.apply(clustersetNatModel(spec([service(1)])));
    await run.run("nft", ["delete", "table", "ip", "causeway-clusterset"]);
    assert.deepEqual(await table.apply(clustersetNatModel(spec([service(1), service(2)]))), { existed: false, how: "replaced" });
    assert.equal(await table.observe(), clustersetNatDigest(spec([service(1), service(2)])));
    // An element removed by hand (the digest still says it is there): the delta that deletes it is refused, the table is loaded whole.
    await run.run("nft", ["delete", "element", "ip", "causeway-clusterset", "services", "{ 243.0.0.3 . tcp . 80 }"]);
    assert.equal(await table.observe(), clustersetNatDigest(spec([service(1), service(2)])));
    assert.deepEqual(await table.apply(clustersetNatModel(spec([service(1)]))), { existed: true, how: "replaced" });
    assert.equal(await table.observe(), clustersetNatDigest(spec([service(1)])));
    await run.run("nft", ["add", "table", "ip", "causeway-foreign"]);
    assert.deepEqual(await table.apply(undefined), { existed: true, how: "deleted" });
    assert.equal(await table.observe(), undefined);
  });
});
