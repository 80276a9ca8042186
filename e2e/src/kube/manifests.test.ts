/**
 * Every manifest join and deploy-broker render passes the real kube-apiserver's validation:
 * CRDs and namespaces are applied, then each object is applied with server-side dry-run (schema,
 * defaults, admission — nothing stored). Needs root (the API server runs in a namespace).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { kube } from "@causeway/common";
import { ApplyInterruptedError, applyManifests, brokerManifests, type Manifest, memberManifests, waitCrdsEstablished } from "@causeway/deploy";
import { type KubeFixture, startKubeFixture } from "./harness.ts";

const root = process.getuid?.() === 0;

describe("rendered manifests against a real API server (server-side dry-run)", { skip: root ? false : "needs root" }, () => {
  let fx: KubeFixture;
  let client: kube.KubeClient;
  before(async () => {
    fx = await startKubeFixture("cwman");
    client = await fx.client();
  });
  after(async () => {
    await fx?.stop();
  });

  /** Applies what the others need (CRDs, namespaces), then dry-runs every object; returns the refusals. */
  async function check(ms: readonly Manifest[]): Promise<string[]> {
    const first = ms.filter((x) => x.type === kube.R.crd || x.type === kube.R.namespace);
    await applyManifests(client, first);
    await waitCrdsEstablished(client, first);
    const refused: string[] = [];
    for (const x of ms) {
      try {
        await client.apply(x.type, x.object, { fieldManager: "causeway-test", dryRun: true });
      } catch (err) {
        refused.push(`${x.type.kind} ${x.object.metadata.name}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    return refused;
  }

  it("a member cluster's objects (both cable drivers, gateway settings)", async () => {
    for (const cableDriver of ["vxlan", "wireguard"]) {
      const ms = memberManifests(kube.R, {
        clusterId: "east",
        clusterCIDRs: ["10.1.0.0/16"],
        serviceCIDRs: ["10.101.0.0/16"],
        cableDriver,
        intraCluster: "vxlan",
        brokerAddress: "broker.example:7400",
        brokerToken: "t",
        brokerCa: "",
        cableSecret: "s",
        gateway: { natt: false, healthCheck: true, healthCheckInterval: 0.5, healthCheckMaxPacketLoss: 3 },
      });
      assert.deepEqual(await check(ms), []);
    }
  });

  it("the broker's objects", async () => {
    assert.deepEqual(await check(brokerManifests(kube.R, "admin", "secret")), []);
  });
  it("an apply interrupted (Ctrl-C) stops between two objects and says what was applied; the same apply again completes it", async () => {
    const ms = brokerManifests(kube.R, "admin2", "secret2").map((x) => ({
      ...x,
      object: { ...x.object, metadata: { ...x.object.metadata, name: `${x.object.metadata.name}` } },
    }));
    const stop = new AbortController();
    const apply = client.apply.bind(client);
    let n = 0;
    // The client as applyManifests uses it (find, apply), the user pressing Ctrl-C during the second apply.
    const counting = {
      find: client.find.bind(client),
      apply: async (...a: Parameters<kube.KubeClient["apply"]>) => {
        const r = await apply(...a);
        if (++n === 2) stop.abort();
        return r;
      },
    } as unknown as kube.KubeClient;
    await assert.rejects(applyManifests(counting, ms, { signal: stop.signal }), (err: unknown) => {
      assert.ok(err instanceof ApplyInterruptedError);
      assert.equal(err.applied.length, 2);
      assert.match(err.message, new RegExp(`interrupted after applying 2 of ${ms.length} objects .*run the same command again to complete it`));
      return true;
    });
    await applyManifests(client, ms);
    for (const x of ms) await client.get(x.type, x.object.metadata.namespace, x.object.metadata.name);
  });
});
