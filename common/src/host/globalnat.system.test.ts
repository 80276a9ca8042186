/**
 * The globalnet table against the real kernel, in a network namespace (root): nft takes the
 * script, observe() reads back the digest it was made from, and the node's connection-tracking
 * entries for the global CIDRs are deleted when the table appears or goes — not when it changes —
 * while other entries stay. `diagnose globalnet`'s findings from the table as nft lists it: what
 * an export lacks, and an address no export holds.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { NetnsRunner, ProcessRunner } from "../exec/index.ts";
import { type GlobalExportView, type GlobalNatSpec, globalNatDigest, globalNatFindings, NftGlobalNat, parseGlobalNatCidrs } from "./globalnat.ts";

const root = process.getuid?.() === 0;
const NS = `cwgnt${process.pid}`;

const spec = (services = 0): GlobalNatSpec => ({
  globalCidr: "242.0.0.0/16",
  egressIPs: ["242.0.0.2", "242.0.0.3"],
  remote: ["242.1.0.0/16", "242.2.0.0/16"],
  services: Array.from({ length: services }, (_, i) => ({
    key: `default/s${i}`,
    ip: `242.0.1.${i + 1}`,
    ports: [{ protocol: "TCP" as const, port: 80, targets: [{ ip: "10.244.1.10", port: 8080 }] }],
  })),
  hosts: [{ global: "242.0.0.1", local: "10.244.0.1", key: "health-check", egress: false }],
});

describe("globalnet table (real kernel, a namespace)", { skip: root ? false : "needs root" }, () => {
  const host = new ProcessRunner(10_000);
  const run = new NetnsRunner(host, NS);
  const nat = new NftGlobalNat(run);
  /** Inserts a UDP flow from a pod to `dst` into the namespace's connection tracking. */
  const track = (dst: string, sport: number) =>
    run.run("conntrack", ["-I", "-p", "udp", "-s", "10.244.1.10", "-d", dst, "--sport", String(sport), "--dport", "80", "-t", "120"]);
  const flows = async () => (await run.run("conntrack", ["-L", "-p", "udp"], { allowFailure: true })).stdout;
  before(async () => {
    await host.run("ip", ["netns", "add", NS]);
  });
  after(async () => {
    await host.run("ip", ["netns", "del", NS], { allowFailure: true });
  });

  it("takes the script; observe() gives its digest; the sets hold the own and remote CIDRs", async () => {
    assert.equal(await nat.observe(), undefined);
    await nat.apply(spec(3));
    assert.equal(await nat.observe(), globalNatDigest(spec(3)));
    const json = (await run.run("nft", ["-j", "list", "table", "ip", "causeway-globalnet"])).stdout;
    assert.deepEqual(parseGlobalNatCidrs(json).sort(), ["242.0.0.0/16", "242.1.0.0/16", "242.2.0.0/16"]);
    await nat.apply(undefined);
  });

  it("forgets the global CIDRs' flows when the table appears and when it goes, not when it changes", async () => {
    await track("242.1.0.5", 1001);
    await track("10.96.0.10", 1002);
    await nat.apply(spec());
    let now = await flows();
    assert.doesNotMatch(now, /dst=242\.1\.0\.5/, "a flow tracked before this node translated is forgotten");
    assert.match(now, /dst=10\.96\.0\.10/, "other flows stay");
    await track("242.2.0.9", 1003);
    await track("242.0.0.40", 1004);
    await nat.apply(spec(2));
    now = await flows();
    assert.match(now, /dst=242\.2\.0\.9/, "a change of the table keeps flows");
    assert.match(now, /dst=242\.0\.0\.40/);
    await nat.apply(undefined);
    now = await flows();
    assert.doesNotMatch(now, /dst=242\.2\.0\.9/, "stepping down forgets flows to the other clusters");
    assert.doesNotMatch(now, /dst=242\.0\.0\.40/, "and to this cluster's global CIDR");
    assert.match(now, /dst=10\.96\.0\.10/);
    assert.equal(await nat.observe(), undefined);
  });

  it("diagnose's findings from the listed table: all there; an export's address missing; an address no export holds (stale)", async () => {
    await nat.apply(spec(2));
    const list = async () => (await run.run("nft", ["-j", "list", "table", "ip", "causeway-globalnet"])).stdout;
    const svc = (i: number): GlobalExportView => ({
      namespace: "default",
      name: `s${i}`,
      type: "ClusterSetIP",
      globalIp: `242.0.1.${i + 1}`,
      endpoints: [{ ready: true }],
    });
    const want = { clusterId: "c1", node: "n0", globalCidr: "242.0.0.0/16", remote: ["242.1.0.0/16", "242.2.0.0/16"] };
    const [good] = globalNatFindings({ ...want, exports: [svc(0), svc(1)], tableJson: await list() });
    assert.equal(good?.ok, true, good?.detail);
    assert.match(good?.detail ?? "", /^2 service\(s\) and 1 address\(es\) translated for 242\.0\.0\.0\/16, egress toward 2 cluster\(s\)$/);
    const [missing] = globalNatFindings({ ...want, exports: [svc(0), svc(1), svc(2)], tableJson: await list() });
    assert.equal(missing?.ok, false);
    assert.match(missing?.detail ?? "", /^default\/s2's 242\.0\.1\.3 is not translated$/);
    await run.run("nft", ["add", "element", "ip", "causeway-globalnet", "inbound", "{ 242.0.9.9 : 10.244.1.99 }"]);
    const [stale] = globalNatFindings({ ...want, exports: [svc(0)], tableJson: await list() });
    assert.equal(stale?.ok, false);
    assert.match(stale?.detail ?? "", /^242\.0\.1\.2, 242\.0\.9\.9 still translated though no export holds them .*restart the gateway on n0\)$/);
    await nat.apply(undefined);
  });
});
