/**
 * Every manifest join and deploy-broker render passes the real kube-apiserver's validation:
 * CRDs and namespaces are applied, then each object is applied with server-side dry-run (schema,
 * defaults, admission — nothing stored). Needs root (the API server runs in a namespace).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { kube } from "@causeway/common";
import {
  ApplyInterruptedError,
  applyManifests,
  brokerManifests,
  makeBrokerPki,
  type Manifest,
  memberManifests,
  pkiCovers,
  waitCrdsEstablished,
} from "@causeway/deploy";
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
    for (const cableDriver of ["vxlan", "wireguard"] as const) {
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
        gateway: { natt: false, healthCheck: true, healthCheckInterval: 0.5, healthCheckMaxPacketLossCount: 3 },
      });
      assert.deepEqual(await check(ms), []);
    }
  });

  it("the broker's objects", async () => {
    assert.deepEqual(await check(brokerManifests(kube.R, "admin", "secret")), []);
    // The scale-out broker with TLS (a real certificate, as deploy-broker makes it).
    const pki = makeBrokerPki(["198.18.0.2", "causeway-broker.causeway-broker.svc"]);
    const ha = brokerManifests(kube.R, "admin", "secret", {
      tls: pki,
      nats: { servers: ["nats://n:4222"], streamReplicas: 3, replicas: 3, user: "u", password: "p" },
    });
    assert.deepEqual(await check(ha), []);
    assert.ok(pkiCovers(pki, ["198.18.0.2", "causeway-broker.causeway-broker.svc"]));
    assert.ok(!pkiCovers(pki, ["203.0.113.9"]), "a certificate does not cover an address it was not made for");
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
