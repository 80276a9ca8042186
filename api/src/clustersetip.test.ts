import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { allocateIp, CLUSTERSET_IP_BLOCK_PREFIX, CLUSTERSET_IP_RANGE, inBlock, nextFreeBlock } from "./clustersetip.ts";

describe("clusterset IP blocks and addresses", () => {
  it("blocks: the first /20 of the range that overlaps no other block and no pod or service CIDR", () => {
    assert.equal(nextFreeBlock(CLUSTERSET_IP_RANGE, CLUSTERSET_IP_BLOCK_PREFIX, []), "243.0.0.0/20");
    assert.equal(nextFreeBlock(CLUSTERSET_IP_RANGE, 20, ["243.0.0.0/20", "10.1.0.0/16"]), "243.0.16.0/20");
    // A member whose pod CIDR lies inside the range pushes the blocks past it.
    assert.equal(nextFreeBlock(CLUSTERSET_IP_RANGE, 20, ["243.0.0.0/19"]), "243.0.32.0/20");
    assert.equal(nextFreeBlock("243.0.0.0/19", 20, ["243.0.0.0/20", "243.0.16.0/20"]), undefined, "full");
    assert.equal(nextFreeBlock("243.0.0.0/24", 20, []), undefined, "a block larger than the range");
    assert.equal(nextFreeBlock("243.0.0.1/8", 20, []), undefined, "not a CIDR");
  });

  it("addresses: inside the block, never its first or last, stable per service, unique against those taken", () => {
    const a = allocateIp("243.0.16.0/20", "default/web", new Set());
    assert.ok(a && inBlock("243.0.16.0/20", a), String(a));
    assert.equal(allocateIp("243.0.16.0/20", "default/web", new Set()), a, "the same service starts at the same place");
    const b = allocateIp("243.0.16.0/20", "default/web", new Set([a ?? ""]));
    assert.ok(b && b !== a && inBlock("243.0.16.0/20", b));
    // A /30 has two usable addresses; both taken → none.
    const small = "243.0.0.0/30";
    const x = allocateIp(small, "a/b", new Set());
    const y = allocateIp(small, "a/b", new Set([x ?? ""]));
    assert.deepEqual(new Set([x, y]), new Set(["243.0.0.1", "243.0.0.2"]));
    assert.equal(allocateIp(small, "a/b", new Set(["243.0.0.1", "243.0.0.2"])), undefined);
    assert.equal(allocateIp("243.0.0.0/31", "a/b", new Set()), undefined, "no usable address");
    assert.ok(!inBlock("243.0.16.0/20", "243.0.16.0") && !inBlock("243.0.16.0/20", "243.0.31.255") && inBlock("243.0.16.0/20", "243.0.31.254"));
  });

  it("spreads services over the block (few collisions for 1,000 services in a /20)", () => {
    const taken = new Set<string>();
    let collisions = 0;
    for (let i = 0; i < 1000; i++) {
      const first = allocateIp("243.0.0.0/20", `ns/svc-${i}`, new Set());
      const ip = allocateIp("243.0.0.0/20", `ns/svc-${i}`, taken);
      if (first !== ip) collisions++;
      taken.add(ip ?? "");
    }
    assert.equal(taken.size, 1000);
    assert.ok(collisions < 250, `${collisions} of 1000 did not get their first choice`);
  });
});
