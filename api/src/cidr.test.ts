import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { cidrContains, cidrsOverlap, intToIp, ipToInt, isIPv4, isIPv4Cidr, parseCidr, sameSubnet, vtepMac, withFirstOctet } from "./index.ts";

describe("IPv4 and CIDR helpers", () => {
  it("accepts dotted quads only", () => {
    for (const ok of ["0.0.0.0", "10.1.2.3", "255.255.255.255"]) assert.ok(isIPv4(ok), ok);
    for (const bad of ["256.1.1.1", "10.1.1", "10.1.1.1.1", "01.1.1.1", "a.b.c.d", "", "10.1.1.-1", "::1"]) assert.ok(!isIPv4(bad), bad);
  });

  it("ipToInt and intToIp round-trip, unsigned", () => {
    for (const ip of ["0.0.0.0", "10.1.2.3", "255.255.255.255", "198.18.0.1"]) assert.equal(intToIp(ipToInt(ip)), ip);
    assert.equal(ipToInt("255.255.255.255"), 0xffffffff);
  });

  it("parses CIDRs and refuses host bits, prefixes over 32 and non-addresses", () => {
    assert.deepEqual(parseCidr("10.1.0.0/16"), { base: ipToInt("10.1.0.0"), prefix: 16 });
    assert.deepEqual(parseCidr("0.0.0.0/0"), { base: 0, prefix: 0 });
    assert.ok(isIPv4Cidr("10.1.2.3/32"));
    for (const bad of ["10.1.0.1/16", "10.1.0.0/33", "10.1.0.0", "10.1.0.0/", "x/8", "10.1.0.0/016x", "300.1.0.0/8"])
      assert.equal(parseCidr(bad), undefined, bad);
  });

  it("overlap: nested, equal and disjoint CIDRs; invalid input never overlaps", () => {
    assert.ok(cidrsOverlap("10.0.0.0/8", "10.1.0.0/16"));
    assert.ok(cidrsOverlap("10.1.0.0/16", "10.0.0.0/8"));
    assert.ok(cidrsOverlap("10.1.0.0/16", "10.1.0.0/16"));
    assert.ok(!cidrsOverlap("10.1.0.0/16", "10.2.0.0/16"));
    assert.ok(!cidrsOverlap("10.1.0.0/24", "10.1.1.0/24"));
    assert.ok(cidrsOverlap("0.0.0.0/0", "192.0.2.0/24"));
    assert.ok(!cidrsOverlap("10.1.0.1/16", "10.1.0.0/16"), "host bits set: not a CIDR");
  });

  it("containment and same-subnet checks", () => {
    assert.ok(cidrContains("10.1.0.0/16", "10.1.255.255"));
    assert.ok(!cidrContains("10.1.0.0/16", "10.2.0.0"));
    assert.ok(!cidrContains("bad", "10.1.0.1"));
    assert.ok(sameSubnet("198.18.1.10", "198.18.1.11", 24));
    assert.ok(!sameSubnet("198.18.1.10", "198.18.2.10", 24));
    assert.ok(!sameSubnet("198.18.1.10", "198.18.1.11", 33));
  });

  it("VTEP helpers: first octet replaced; a stable, locally administered MAC", () => {
    assert.equal(withFirstOctet("10.1.2.3", 240), "240.1.2.3");
    assert.equal(vtepMac("240.1.2.3"), "0e:ca:f0:01:02:03");
  });
});
