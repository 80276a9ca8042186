/**
 * Lab e2e, gateway redundancy in Kubernetes mode: 2 clusters × 3 nodes with real API servers,
 * n0 and n1 labelled gateway candidates, elected through the coordination.k8s.io Lease. For
 * kill -9, underlay link cut and graceful stop of c1's active gateway: the standby takes the
 * Lease, the Gateway objects say so, pod traffic resumes both ways; the old gateway returns
 * passive. VXLAN. Needs root; the lab builds kube-apiserver on first use (lab/kube/build.sh).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { SYSTEM_NAMESPACE } from "@causeway/api";
import { kube } from "@causeway/common";
import { GATEWAY_LEASE } from "@causeway/gateway";
import { activeGateway, assertResumed, FAILURE_KINDS, failGateway, Lab, OUTAGE_BOUND_MS, Probes, recoverGateway, until, waitFailover } from "@causeway/lab";

const root = process.getuid?.() === 0;
const NAME = "cwhak";
const PAIRS = [
  ["c1/n2/p0", "c2/n2/p0"],
  ["c2/n2/p0", "c1/n2/p0"],
] as const;

describe("lab redundancy (kube): gateway failover through the Lease", { skip: root ? false : "needs root for network namespaces", timeout: 600_000 }, () => {
  let lab: Lab;
  let client: kube.KubeClient;
  const haStatus = async (node: string) =>
    (await client.get<{ status?: { haStatus?: string } }>(kube.R.gateway, SYSTEM_NAMESPACE, node).catch(() => undefined))?.status?.haStatus;
  before(async () => {
    await Lab.down(NAME);
    lab = await Lab.up({ name: NAME, clusters: 2, nodes: 3, gateways: 2, kube: true });
    await lab.waitConnected(90_000);
    client = await lab.kubeClient("c1");
  });
  after(async () => {
    client?.close();
    await Lab.down(NAME);
  });

  for (const kind of FAILURE_KINDS) {
    it(`${kind}: the standby takes the Lease and traffic resumes both ways; the old gateway returns passive`, async () => {
      const was = await activeGateway(lab, "c1");
      const probes = new Probes(lab, PAIRS);
      await new Promise((r) => setTimeout(r, 1000));
      await failGateway(lab, "c1", was, kind);
      const now = await waitFailover(lab, "c1", was);
      const lease = await client.get<{ spec: kube.LeaseRecord }>(kube.R.lease, SYSTEM_NAMESPACE, GATEWAY_LEASE);
      assert.equal(lease.spec.holderIdentity, `${now}-causeway-gateway`);
      await until(`${now} active`, async () => ((await haStatus(now)) === "active" ? true : undefined), 10_000);
      await lab.waitConnected(15_000);
      await new Promise((r) => setTimeout(r, 2000));
      const outages = assertResumed(await probes.stop(), kind, OUTAGE_BOUND_MS[kind]);
      console.log(`# kube ${kind}: ${was} → ${now}, outage ${outages}`);
      await recoverGateway(lab, "c1", was, kind);
      await until(`${was} passive again`, async () => ((await haStatus(was)) === "passive" ? true : undefined), 20_000);
      assert.equal(await activeGateway(lab, "c1"), now, "the returning gateway does not take over");
    });
  }
});
