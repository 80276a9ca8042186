import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type CableDriverName, CAUSEWAY_CRDS, crdObject, MCS_CRDS } from "@causeway/api";
import { kube } from "@causeway/common";
import { IMAGE, memberManifests, renderManifests } from "./index.ts";

describe("deploy", () => {
  it("CRDs come from the api schemas: structural (no additionalProperties beside properties), status subresource for Gateway, a schema hash", () => {
    const gw = crdObject(CAUSEWAY_CRDS.find((d) => d.kind === "Gateway") ?? CAUSEWAY_CRDS[0]!) as {
      spec: { versions: { subresources?: unknown; schema: { openAPIV3Schema: unknown } }[] };
    };
    assert.deepEqual(gw.spec.versions[0]?.subresources, { status: {} });
    const text = JSON.stringify(gw);
    assert.doesNotMatch(text, /"additionalProperties":false/);
    assert.match(text, /"format":"ipv4"/);
    const ep = crdObject(CAUSEWAY_CRDS[0]!) as { metadata: { annotations: Record<string, string> } };
    assert.match(ep.metadata.annotations["causeway.io/schema-hash"] ?? "", /^[0-9a-f]{16}$/);
    assert.deepEqual(
      MCS_CRDS.map((d) => `${d.plural}.${d.group}/${d.version}`),
      ["serviceexports.multicluster.x-k8s.io/v1beta1", "serviceimports.multicluster.x-k8s.io/v1beta1"],
    );
  });

  it("member manifests: route agents get no access to the broker credential; dry-run text redacts nothing it was not given", () => {
    const config = {
      clusterId: "c1",
      clusterCIDRs: ["10.1.0.0/16"],
      serviceCIDRs: ["10.101.0.0/16"],
      cableDriver: "vxlan" as CableDriverName,
      intraCluster: "vxlan" as const,
      brokerAddress: "b:7400",
      brokerToken: "<t>",
      brokerCa: "",
      cableSecret: "<s>",
    };
    const ms = memberManifests(kube.R, config);
    const role = ms.find((m) => m.type === kube.R.role && m.object.metadata.name === "causeway-route-agent");
    assert.doesNotMatch(JSON.stringify(role), /secrets/);
    const yaml = renderManifests(ms);
    assert.match(yaml, /kind: DaemonSet[\s\S]*causeway\.io\/gateway: "true"/);
    assert.equal(yaml.split("---\n").length, ms.length);
    // A changed configuration (here the cable driver) changes the pod template, so the workloads roll.
    const hashes = (c: typeof config) =>
      memberManifests(kube.R, c)
        .filter((m) => m.type === kube.R.daemonSet || m.type === kube.R.deployment)
        .map((m) => JSON.stringify(m.object).match(/"causeway.io\/config-hash":"([0-9a-f]+)"/)?.[1]);
    assert.equal(hashes(config).length, 3); // gateway, route agent, lighthouse
    assert.ok(hashes(config)[0]);
    assert.notDeepEqual(hashes(config), hashes({ ...config, cableDriver: "wireguard" as const }));
    assert.deepEqual(hashes(config), hashes({ ...config }));
    // --image-override: every workload runs the given image, nothing else changes.
    const images = (c: typeof config & { image?: string }) =>
      memberManifests(kube.R, c)
        .filter((m) => m.type === kube.R.daemonSet || m.type === kube.R.deployment)
        .map((m) => JSON.stringify(m.object).match(/"image":"([^"]+)"/)?.[1]);
    assert.deepEqual(images({ ...config, image: "registry.example/causeway:0.1.0" }), Array(3).fill("registry.example/causeway:0.1.0"));
    assert.deepEqual(images(config), Array(3).fill(IMAGE));
  });

  it("permissions are named in RBAC's words", () => {
    assert.equal(kube.permissionOf({ method: "GET", path: "/api/v1/nodes" }), "list nodes (cluster-wide)");
    assert.equal(kube.permissionOf({ method: "GET", path: "/api/v1/nodes?watch=1&resourceVersion=5" }), "watch nodes (cluster-wide)");
    assert.equal(
      kube.permissionOf({ method: "PATCH", path: "/apis/apps/v1/namespaces/causeway-system/daemonsets/x" }),
      "patch daemonsets.apps in namespace causeway-system",
    );
    assert.equal(
      kube.permissionOf({ method: "PUT", path: "/apis/causeway.io/v1/namespaces/ns/gateways/n0/status" }),
      "update gateways/status.causeway.io in namespace ns",
    );
  });
});
