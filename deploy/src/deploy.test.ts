import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CAUSEWAY_CRDS, crdObject, MCS_CRDS } from "@causeway/api";
import { host, kube } from "@causeway/common";
import { WG_KEEPER_SOCKET, WG_KEY_FILE } from "./daemonpod.ts";
import { brokerManifests, IMAGE, type ImageOverrides, type MemberConfig, memberManifests, parseImageOverrides, renderManifests } from "./index.ts";

const member: MemberConfig = {
  clusterId: "c1",
  clusterCIDRs: ["10.1.0.0/16"],
  serviceCIDRs: ["10.101.0.0/16"],
  cableDriver: "vxlan",
  intraCluster: "vxlan",
  brokerAddress: "b:7400",
  brokerToken: "<t>",
  brokerCa: "",
  cableSecret: "<s>",
};

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
    const config = member;
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
    assert.notDeepEqual(hashes(config), hashes({ ...config, cableDriver: "wireguard" }));
    assert.deepEqual(hashes(config), hashes({ ...config }));
  });

  it("WireGuard: the gateway pod's keeper is a native sidecar with NET_ADMIN and the TUN device only, without the key; the gateway reaches it and shares wireguard-go's sockets; VXLAN has none", () => {
    type Container = {
      name: string;
      restartPolicy?: string;
      command: string[];
      env?: { name: string; value?: string }[];
      securityContext: { capabilities: { add: string[] } };
      volumeMounts: { name: string; mountPath: string }[];
    };
    const podOf = (c: MemberConfig) =>
      (
        memberManifests(kube.R, c).find((m) => m.type === kube.R.daemonSet && m.object.metadata.name === "causeway-gateway")?.object as unknown as {
          spec: { template: { spec: { initContainers?: Container[]; containers: Container[] } } };
        }
      ).spec.template.spec;
    const wg = podOf({ ...member, cableDriver: "wireguard" });
    const [keeper, ...others] = wg.initContainers ?? [];
    assert.ok(keeper && others.length === 0, "one init container");
    assert.equal(keeper.restartPolicy, "Always", "a native sidecar: it keeps running and stops after the gateway");
    assert.deepEqual(keeper.securityContext.capabilities.add, ["NET_ADMIN"]);
    assert.deepEqual(keeper.volumeMounts.map((v) => v.mountPath).sort(), ["/dev/net/tun", "/run/causeway-keeper", "/var/run/wireguard"]);
    const socket = keeper.command[keeper.command.indexOf("--wireguard-keeper") + 1];
    assert.equal(socket, WG_KEEPER_SOCKET);
    const gateway = wg.containers[0]!;
    assert.equal(gateway.env?.find((e) => e.name === "CAUSEWAY_WIREGUARD_KEEPER")?.value, socket);
    assert.ok(gateway.volumeMounts.some((v) => v.mountPath === host.WG_RUN_DIR));
    assert.ok(!keeper.volumeMounts.some((v) => WG_KEY_FILE.startsWith(v.mountPath)), "the keeper sees the key");
    assert.equal(podOf(member).initContainers, undefined);
  });

  it("--gateway-mode active-active: causeway-config says so (active-passive, the default, writes nothing), the pods roll; gateways may list Leases", () => {
    const configOf = (c: MemberConfig) => memberManifests(kube.R, c).find((m) => m.type === kube.R.configMap && m.object.metadata.name === "causeway-config");
    const data = (c: MemberConfig) => (configOf(c)?.object as unknown as { data: Record<string, string> }).data;
    assert.equal(data({ ...member, gatewayMode: "active-active" }).gatewayMode, "active-active");
    assert.equal(data({ ...member, gatewayMode: "active-passive" }).gatewayMode, undefined);
    assert.equal(data(member).gatewayMode, undefined);
    const hash = (c: MemberConfig) => JSON.stringify(memberManifests(kube.R, c)).match(/"causeway.io\/config-hash":"([0-9a-f]+)"/)?.[1];
    assert.notEqual(hash({ ...member, gatewayMode: "active-active" }), hash(member));
    const role = memberManifests(kube.R, member).find((m) => m.type === kube.R.role && m.object.metadata.name === "causeway-gateway");
    assert.match(JSON.stringify(role), /"resources":\["leases"\],"verbs":\["get","list","create","update"\]/);
  });

  it("--image-override: an image for all, or component=image; every workload's containers get theirs, the broker's too", () => {
    const images = (c: MemberConfig) =>
      Object.fromEntries(
        memberManifests(kube.R, c)
          .filter((m) => m.type === kube.R.daemonSet || m.type === kube.R.deployment)
          .map((m) => [m.object.metadata.name, [...JSON.stringify(m.object).matchAll(/"image":"([^"]+)"/g)].map((x) => x[1])]),
      );
    const all = parseImageOverrides(["registry.example/causeway:0.2.0"]);
    assert.deepEqual(images({ ...member, images: all }), {
      "causeway-gateway": ["registry.example/causeway:0.2.0"],
      "causeway-route-agent": ["registry.example/causeway:0.2.0"],
      "causeway-lighthouse": ["registry.example/causeway:0.2.0"],
    });
    const some = parseImageOverrides(["gateway=gw:1", "lighthouse=lh:1"]);
    assert.deepEqual(images({ ...member, images: some }), { "causeway-gateway": ["gw:1"], "causeway-route-agent": [IMAGE], "causeway-lighthouse": ["lh:1"] });
    assert.deepEqual(images(member), { "causeway-gateway": [IMAGE], "causeway-route-agent": [IMAGE], "causeway-lighthouse": [IMAGE] });
    const broker = (images: ImageOverrides) =>
      brokerManifests(kube.R, "t", "s", { images })
        .filter((m) => m.type === kube.R.deployment)
        .map((m) => JSON.stringify(m.object).match(/"image":"([^"]+)"/)?.[1]);
    assert.deepEqual(broker(parseImageOverrides(["broker=b:2"])), ["b:2"]);
    assert.deepEqual(broker(parseImageOverrides(["all:3", "broker=b:2"])), ["b:2"], "a component's own image wins over the one for all");
    assert.deepEqual(broker(parseImageOverrides(["gateway=gw:1"])), [IMAGE]);
    assert.throws(
      () => parseImageOverrides(["operator=x:1"]),
      /--image-override operator=x:1: unknown component "operator"; components: gateway, route-agent, lighthouse, broker/,
    );
    assert.throws(() => parseImageOverrides(["gateway="]), /is not an image reference/);
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
