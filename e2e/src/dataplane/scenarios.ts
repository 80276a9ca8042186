/**
 * The data-path scenarios every mode must pass, written once: run by dataplane.test.ts against a
 * standalone lab and by kube/lab.test.ts against a Kubernetes-tier lab (2 clusters × 3 nodes, the
 * lab's echo pods and c2's echo service at 10.102.0.10:80 backed by c2/n1/p0).
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import { kube } from "@causeway/common";
import { type Lab, until } from "@causeway/lab";
import { assertPodReaches, tcpFrom } from "./checks.ts";

export function dataplaneScenarios(lab: () => Lab): void {
  for (const [from, to] of [
    ["c1/n1/p0", "c2/n2/p0"],
    ["c2/n1/p0", "c1/n2/p0"],
  ] as const) {
    it(`ICMP and TCP ${from} → ${to} (non-gateway nodes); the server sees the client pod's IP`, async () => {
      await assertPodReaches(lab(), from, to);
    });
  }

  it("pod → service VIP of the other cluster, source preserved", async () => {
    const r = await tcpFrom(lab(), "c1/n2/p0", "10.102.0.10", 80);
    assert.equal(r.exitCode, 0, r.stdout);
    assert.match(r.stdout, /^c2\/n1\/p0 sees 10\.1\.2\.10:/);
  });

  it("a TCP stream across a route-agent restart (non-gateway and gateway node) survives", async () => {
    const l = lab();
    const stream = tcpFrom(l, "c1/n1/p0", l.resolve("c2/n1/p0").ip, 8080, ["--stream", "6000", "--interval", "20"]);
    await new Promise((r) => setTimeout(r, 1000));
    await l.restart("c1", "route-agent/n1");
    await l.restart("c2", "route-agent/n0");
    const r = await stream;
    assert.equal(r.exitCode, 0, r.stdout);
    assert.match(r.stdout, /stream ok (\d+) \1 /);
  });
}

/**
 * What every Kubernetes-tier variant (a kube-proxy mode, a CNI) must pass on a 2 × 2 lab: pod ↔
 * pod both ways between non-gateway nodes, a pod → the other cluster's echo Service, and the
 * same Service exported (ServiceExport) and reached by its ServiceImport's clusterset IP, each
 * with the client pod's address seen at the server. `via` names the variant in the Service case.
 */
export function variantScenarios(lab: () => Lab, via: string): void {
  for (const [from, to] of [
    ["c1/n1/p0", "c2/n1/p0"],
    ["c2/n1/p0", "c1/n1/p0"],
  ] as const) {
    it(`ICMP and TCP ${from} → ${to}; the server sees the client pod's IP`, async () => {
      await assertPodReaches(lab(), from, to);
    });
  }

  it(`pod → the other cluster's Service through ${via}, source preserved`, async () => {
    const r = await tcpFrom(lab(), "c1/n1/p0", "10.102.0.10", 80);
    assert.equal(r.exitCode, 0, r.stdout);
    assert.match(r.stdout, /^c2\/n1\/p0 sees 10\.1\.1\.10:/);
  });

  it(`pod → the other cluster's exported Service by its clusterset IP (route agents' nftables beside ${via}), source preserved; released on unexport`, async () => {
    const [c1, c2] = [await lab().kubeClient("c1"), await lab().kubeClient("c2")];
    try {
      await c2.apply(kube.R.serviceExport, { metadata: { name: "echo", namespace: "default" } }, { fieldManager: "e2e" });
      const ip = await until(
        "c1's ServiceImport of echo has its clusterset IP",
        async () => (await c1.find<{ spec: { ips?: string[] } }>(kube.R.serviceImport, "default", "echo"))?.spec.ips?.[0],
        30_000,
      );
      assert.match(ip, /^243\./);
      const served = await until(
        `c1/n1/p0 reaches echo at ${ip}`,
        async () => {
          const r = await tcpFrom(lab(), "c1/n1/p0", ip, 80);
          return r.exitCode === 0 ? r.stdout : undefined;
        },
        30_000,
      );
      assert.match(served, /^c2\/n1\/p0 sees 10\.1\.1\.10:/);
      await c2.delete(kube.R.serviceExport, "default", "echo");
      await until("c1's ServiceImport of echo gone", async () => ((await c1.find(kube.R.serviceImport, "default", "echo")) ? undefined : true), 30_000);
      const refused = await until(
        `${ip} refused once released`,
        async () => {
          const r = await tcpFrom(lab(), "c1/n1/p0", ip, 80);
          return r.exitCode !== 0 ? r.stdout + r.stderr : undefined;
        },
        30_000,
      );
      assert.match(refused, /ECONNREFUSED/);
    } finally {
      await c2.delete(kube.R.serviceExport, "default", "echo").catch(() => undefined);
      c1.close();
      c2.close();
    }
  });
}
