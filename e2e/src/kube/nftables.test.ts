/** The Kubernetes tier on real nodes with kube-proxy in nftables mode: pod ↔ pod and a Service of the other cluster, sources kept (the route agent's source guard). */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Lab } from "@causeway/lab";
import { assertPodReaches, tcpFrom } from "../dataplane/checks.ts";

const root = process.getuid?.() === 0;

describe("kube tier on real nodes, kube-proxy in nftables mode: 2 clusters × 2 nodes", { skip: root ? false : "needs root", timeout: 600_000 }, () => {
  let lab: Lab;
  const NFT = "cwrf";
  before(async () => {
    await Lab.down(NFT);
    lab = await Lab.up({ name: NFT, clusters: 2, nodes: 2, kube: true, realNodes: true, kubeProxyMode: "nftables" });
    await lab.waitConnected(60_000);
  });
  after(async () => {
    await Lab.down(NFT);
  });

  it("kube-proxy programs nftables, not iptables: its table holds the echo Service", async () => {
    const nft = await lab.exec("c2/n1", ["nft", "list", "table", "ip", "kube-proxy"]);
    assert.equal(nft.exitCode, 0, nft.stderr);
    assert.match(nft.stdout, /10\.102\.0\.10/);
    const ipt = await lab.exec("c2/n1", ["iptables-save", "-t", "nat"]);
    assert.doesNotMatch(ipt.stdout, /KUBE-SVC-/);
  });

  for (const [from, to] of [
    ["c1/n1/p0", "c2/n1/p0"],
    ["c2/n1/p0", "c1/n1/p0"],
  ] as const) {
    it(`ICMP and TCP ${from} → ${to}; the server sees the client pod's IP`, async () => {
      await assertPodReaches(lab, from, to);
    });
  }

  it("pod → the other cluster's Service through its nftables kube-proxy, source preserved", async () => {
    const r = await tcpFrom(lab, "c1/n1/p0", "10.102.0.10", 80);
    assert.equal(r.exitCode, 0, r.stdout);
    assert.match(r.stdout, /^c2\/n1\/p0 sees 10\.1\.1\.10:/);
  });
});
