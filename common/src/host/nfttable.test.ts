/** The table delta (pure): what one more, one changed and one fewer service cost; what forces a full replace. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { clustersetNatModel, type ClustersetNatSpec, type ClustersetService } from "./clustersetnat.ts";
import { globalNatModel, type GlobalNatSpec } from "./globalnat.ts";
import { parseStateDigest, renderTable, renderTableDelta } from "./nfttable.ts";

const service = (i: number, targets = ["10.244.1.10"]): ClustersetService => ({
  key: `default/s${i}`,
  ip: `243.0.${Math.floor(i / 250)}.${(i % 250) + 1}`,
  ports: [{ protocol: "TCP", port: 80, targets: targets.map((ip) => ({ ip, port: 8080 })) }],
});
const spec = (services: ClustersetService[]): ClustersetNatSpec => ({ services, blocks: ["243.0.0.0/20"] });
const T = "causeway-clusterset";

describe("nftables table delta", () => {
  const thousand = Array.from({ length: 1000 }, (_, i) => service(i));
  const base = clustersetNatModel(spec(thousand));

  it("one more service among 1,000: one chain, its rule and its element (and the digest in the state chain's name), nothing else", () => {
    const next = clustersetNatModel(spec([...thousand, service(1000)]));
    const delta = renderTableDelta(T, base, next) ?? "";
    assert.deepEqual(delta.trim().split("\n"), [
      `add chain ip ${T} svc-243-0-4-1-tcp-80 { comment "default/s1000 TCP/80"; }`,
      `add rule ip ${T} svc-243-0-4-1-tcp-80 meta l4proto tcp dnat ip to numgen random mod 1 map { 0 : 10.244.1.10 . 8080 }`,
      `add element ip ${T} services { 243.0.4.1 . tcp . 80 : goto svc-243-0-4-1-tcp-80 }`,
      `rename chain ip ${T} state-${base.digest} state-${next.digest}`,
    ]);
    assert.ok(renderTable(T, next).split("\n").length > 4000, "the full table is thousands of lines");
  });

  it("a service's endpoints changed: its chain is flushed and refilled; one gone: its element, then its chain", () => {
    const changed = thousand.map((s, i) => (i === 7 ? service(7, ["10.244.1.10", "10.244.2.10"]) : s)).filter((_, i) => i !== 9);
    const lines = (renderTableDelta(T, base, clustersetNatModel(spec(changed))) ?? "").trim().split("\n");
    assert.deepEqual(lines.slice(0, -1), [
      `flush chain ip ${T} svc-243-0-0-8-tcp-80`,
      `add rule ip ${T} svc-243-0-0-8-tcp-80 meta l4proto tcp dnat ip to numgen random mod 2 map { 0 : 10.244.1.10 . 8080, 1 : 10.244.2.10 . 8080 }`,
      `delete element ip ${T} services { 243.0.0.10 . tcp . 80 }`,
      `add element ip ${T} hairpin { 10.244.2.10 . 10.244.2.10 }`,
      `delete chain ip ${T} svc-243-0-0-10-tcp-80`,
    ]);
  });

  it("the same spec: an empty delta; other blocks: their elements; a changed base chain or chain comment: none (the table is replaced)", () => {
    assert.equal(renderTableDelta(T, base, clustersetNatModel(spec(thousand))), "");
    const blocks = clustersetNatModel({ services: thousand, blocks: ["243.0.16.0/20", "243.0.0.0/20"] });
    assert.match(renderTableDelta(T, base, blocks) ?? "", /add element ip causeway-clusterset blocks \{ 243\.0\.16\.0\/20 \}/);
    const g = (globalCidr: string): GlobalNatSpec => ({ globalCidr, egressIPs: [], remote: [], services: [], hosts: [] });
    assert.equal(renderTableDelta("causeway-globalnet", globalNatModel(g("242.0.0.0/16")), globalNatModel(g("242.1.0.0/16"))), undefined);
    // Another service at the same address and port: its chain's comment changes, which flush would keep.
    const renamed = thousand.map((s, i) => (i === 3 ? { ...s, key: "other/name" } : s));
    assert.equal(renderTableDelta(T, base, clustersetNatModel(spec(renamed))), undefined);
  });

  it("a map entry whose value changed is deleted by its key and added again", () => {
    const g = (local: string): GlobalNatSpec => ({
      globalCidr: "242.0.0.0/16",
      egressIPs: [],
      remote: [],
      services: [],
      hosts: [{ global: "242.0.0.40", local, key: "default/db", egress: false }],
    });
    const lines = (renderTableDelta("causeway-globalnet", globalNatModel(g("10.244.1.20")), globalNatModel(g("10.244.1.21"))) ?? "").split("\n");
    assert.deepEqual(lines.slice(0, 2), [
      "delete element ip causeway-globalnet inbound { 242.0.0.40 }",
      "add element ip causeway-globalnet inbound { 242.0.0.40 : 10.244.1.21 }",
    ]);
  });

  it("the digest is read from the state chain's name in `nft list chains ip`, for this table only", () => {
    const text = [
      "table ip nat {",
      "\tchain POSTROUTING {",
      "\t}",
      "}",
      "table ip causeway-clusterset {",
      "\tchain svc-243-0-0-1-tcp-80 {",
      "\t}",
      "\tchain state-0123abcd {",
      "\t}",
      "}",
    ].join("\n");
    assert.equal(parseStateDigest(text, T), "0123abcd");
    assert.equal(parseStateDigest(text.replace("state-0123abcd", "other"), T), "", "the table without a state chain");
    assert.equal(parseStateDigest(text, "causeway-globalnet"), undefined, "no such table");
  });
});
