/**
 * The Kubernetes tier on real nodes with flannel as the CNI (built from its Go module; VXLAN
 * backend, its own masquerade rules — which masquerade traffic entering the pod network from
 * outside it, as cross-cluster traffic does): pod ↔ pod and a Service of the other cluster keep
 * their sources, also after flanneld restarts and sets its rules up again.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Lab } from "@causeway/lab";
import { assertPodReaches } from "../dataplane/checks.ts";
import { upConnected } from "../fixture.ts";
import { variantScenarios } from "../dataplane/scenarios.ts";

const root = process.getuid?.() === 0;

describe("kube tier on real nodes with flannel (VXLAN) as the CNI: 2 clusters × 2 nodes", { skip: root ? false : "needs root", timeout: 600_000 }, () => {
  let lab: Lab;
  const NAME = "cwfl";
  before(async () => {
    lab = await upConnected({ name: NAME, clusters: 2, nodes: 2, kube: true, cni: "flannel" });
  });
  after(async () => {
    await Lab.down(NAME);
  });

  it("flannel runs every node's pod network: its VXLAN device carries the other node's pod CIDR, its masquerade chain is in place, the lab adds none", async () => {
    for (const [node, other] of [
      ["c2/n1", "10.2.0.0/24"],
      ["c2/n0", "10.2.1.0/24"],
    ] as const) {
      const routes = await lab.exec(node, ["ip", "route", "show", "dev", "flannel.1"]);
      assert.match(routes.stdout, new RegExp(`^${other.replace(/\./g, "\\.")} via .* onlink`, "m"), `${node}: ${routes.stdout}`);
      const nat = (await lab.exec(node, ["iptables-save", "-t", "nat"])).stdout;
      assert.match(nat, /-A FLANNEL-POSTRTG ! -s 10\.2\.0\.0\/16 -d 10\.2\.0\.0\/16 .*-j MASQUERADE/, nat);
      assert.doesNotMatch(nat, /-A POSTROUTING -s 10\.2\.0\.0\/16 ! -d 10\.2\.0\.0\/16 -j MASQUERADE/, "the lab's own masquerade is not there");
    }
  });

  it("pods of one cluster reach each other across nodes through flannel", async () => {
    await assertPodReaches(lab, "c1/n1/p0", "c1/n0/p0");
  });

  variantScenarios(() => lab, "its kube-proxy");

  it("flanneld restarted on every node of c2 (its rules set up again): sources are still kept both ways", async () => {
    for (const n of ["n0", "n1"]) await lab.restart("c2", `flanneld/${n}`);
    await new Promise((r) => setTimeout(r, 3000));
    await assertPodReaches(lab, "c1/n1/p0", "c2/n1/p0");
    await assertPodReaches(lab, "c2/n1/p0", "c1/n1/p0");
  });
});
