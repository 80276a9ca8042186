/**
 * CoreDNS wiring against a real kube-apiserver: the clusterset block goes into
 * kube-system/coredns between markers (idempotent, the rest kept, removed again), or into a
 * coredns-custom ConfigMap when there is one (or the one --coredns-custom-configmap names).
 * Needs root (the API server runs in a network namespace).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { kube } from "@causeway/common";
import { CUSTOM_COREDNS_KEY, unwireCoreDns, wireCoreDns } from "@causeway/deploy";
import { type KubeFixture, startKubeFixture } from "./harness.ts";

const root = process.getuid?.() === 0;
const KUBEADM_COREFILE = ".:53 {\n    errors\n    kubernetes cluster.local in-addr.arpa ip6.arpa\n    forward . /etc/resolv.conf\n    cache 30\n}\n";

describe("CoreDNS wiring (real API server)", { skip: root ? false : "needs root" }, () => {
  let fx: KubeFixture;
  let client: kube.KubeClient;
  const configMap = (namespace: string, name: string) => client.get<{ data?: Record<string, string> }>(kube.R.configMap, namespace, name);
  const put = (namespace: string, name: string, data: Record<string, string>) =>
    client.apply(kube.R.configMap, { metadata: { name, namespace }, ...{ data } }, { fieldManager: "test" });
  before(async () => {
    fx = await startKubeFixture("cwdns");
    client = await fx.client();
  });
  after(async () => {
    await fx?.stop();
  });

  it("kube-system/coredns: the block is prepended between markers once, replaced in place when the IP changes, and removed leaving the Corefile as it was", async () => {
    await put("kube-system", "coredns", { Corefile: KUBEADM_COREFILE });
    assert.deepEqual(await wireCoreDns(client, "10.96.0.99"), { kind: "coredns", changed: true });
    assert.deepEqual(await wireCoreDns(client, "10.96.0.99"), { kind: "coredns", changed: false });
    await wireCoreDns(client, "10.96.0.77");
    const corefile = (await configMap("kube-system", "coredns")).data?.Corefile ?? "";
    assert.equal(corefile.match(/causeway-start/g)?.length, 1);
    assert.match(
      corefile,
      /clusterset\.local:53 \{\n {4}forward \. 10\.96\.0\.77\n\}\n243\.in-addr\.arpa:53 \{\n {4}forward \. 10\.96\.0\.77\n\}\n# causeway-end\n\.:53 \{/,
    );
    assert.ok(await unwireCoreDns(client));
    assert.equal((await configMap("kube-system", "coredns")).data?.Corefile, KUBEADM_COREFILE);
    assert.equal(await unwireCoreDns(client), false, "a second uninstall finds nothing to remove");
  });

  it("coredns-custom: the block goes under causeway.server and kube-system/coredns stays untouched; a named ConfigMap that does not exist is refused", async () => {
    await put("kube-system", "coredns-custom", { "other.server": "example.org:53 {\n    forward . 10.0.0.1\n}\n" });
    assert.deepEqual(await wireCoreDns(client, "10.96.0.99"), { kind: "coredns-custom", changed: true });
    const custom = (await configMap("kube-system", "coredns-custom")).data ?? {};
    assert.match(custom[CUSTOM_COREDNS_KEY] ?? "", /clusterset\.local:53 \{\n {4}forward \. 10\.96\.0\.99\n\}/);
    assert.ok(custom["other.server"], "the other keys are kept");
    assert.equal((await configMap("kube-system", "coredns")).data?.Corefile, KUBEADM_COREFILE);
    await assert.rejects(
      wireCoreDns(client, "10.96.0.99", ["clusterset.local"], "dns/missing"),
      /ConfigMap dns\/missing \(--coredns-custom-configmap\) does not exist/,
    );
    assert.ok(await unwireCoreDns(client));
    assert.equal((await configMap("kube-system", "coredns-custom")).data?.[CUSTOM_COREDNS_KEY], undefined);
  });
});
