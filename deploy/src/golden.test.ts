import { join } from "node:path";
import { describe, it } from "node:test";
import { assertGolden, kube } from "@causeway/common";
import { renderManifests } from "./apply.ts";
import { brokerManifests, memberManifests } from "./manifests.ts";

const DATA = join(import.meta.dirname, "testdata");

describe("rendered manifests (golden)", () => {
  it("a member cluster's objects, as join applies them (credentials redacted)", () => {
    const ms = memberManifests(kube.R, {
      clusterId: "east",
      clusterCIDRs: ["10.1.0.0/16"],
      serviceCIDRs: ["10.101.0.0/16"],
      cableDriver: "wireguard",
      intraCluster: "vxlan",
      brokerAddress: "broker.example:7400",
      brokerToken: "<token>",
      brokerCa: "",
      cableSecret: "<cable secret>",
      gateway: { natt: false, healthCheck: false },
    });
    assertGolden(join(DATA, "member.yaml"), renderManifests(ms));
  });

  it("the broker's objects, as deploy-broker applies them", () => {
    assertGolden(join(DATA, "broker.yaml"), renderManifests(brokerManifests(kube.R, "<admin token>", "<cable secret>")));
  });

  it("the scale-out broker: TLS, three replicas on a NATS JetStream bucket", () => {
    const ha = brokerManifests(kube.R, "<admin token>", "<cable secret>", {
      tls: { certPem: "<cert>", keyPem: "<key>", caPem: "<ca>" },
      nats: {
        servers: ["nats://nats-0.nats:4222", "nats://nats-1.nats:4222", "nats://nats-2.nats:4222"],
        streamReplicas: 3,
        replicas: 3,
        user: "causeway",
        password: "<password>",
      },
    });
    assertGolden(join(DATA, "broker-ha.yaml"), renderManifests(ha));
  });
});
