import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { crdObject, MCS_CRDS, MCS_RELEASE_LABEL, MCS_REVISION_LABEL } from "@causeway/api";
import { compareMcsLabels, decideMcsCrd, type ExistingCrd } from "./mcscrds.ts";

const serviceImport = MCS_CRDS.find((d) => d.kind === "ServiceImport")!;
const crd = (labels: Record<string, string>, versions: string[]): ExistingCrd => ({
  metadata: { name: "serviceimports.multicluster.x-k8s.io", labels },
  spec: { versions: versions.map((name, i) => ({ name, served: true, storage: i === versions.length - 1 })) },
});
const release = (v: string, rev = "0") => ({ [MCS_RELEASE_LABEL]: v, [MCS_REVISION_LABEL]: rev });

describe("MCS CRDs: shaped like the upstream release, installed without overwriting anyone's", () => {
  it("both served at v1alpha1 and v1beta1 with one schema, v1beta1 stored; upstream's names, short names, printer columns and release labels", () => {
    for (const d of MCS_CRDS) {
      const o = crdObject(d) as {
        metadata: { labels: Record<string, string> };
        spec: { names: { shortNames: string[] }; versions: { name: string; served: boolean; storage: boolean; schema: unknown }[] };
      };
      assert.deepEqual(
        o.spec.versions.map((v) => [v.name, v.served, v.storage]),
        [
          ["v1alpha1", true, false],
          ["v1beta1", true, true],
        ],
      );
      assert.deepEqual(o.spec.versions[0]?.schema, o.spec.versions[1]?.schema);
      assert.match(o.metadata.labels[MCS_RELEASE_LABEL] ?? "", /^v\d+\.\d+\.\d+$/);
      assert.equal(o.metadata.labels[MCS_REVISION_LABEL], "0");
      assert.equal(o.metadata.labels["app.kubernetes.io/part-of"], "causeway");
    }
    const si = crdObject(serviceImport) as { spec: { names: { shortNames: string[] }; versions: { additionalPrinterColumns: { name: string }[] }[] } };
    assert.deepEqual(si.spec.names.shortNames, ["svcim", "svcimport"]);
    assert.deepEqual(
      si.spec.versions[1]?.additionalPrinterColumns.map((c) => c.name),
      ["Type", "IP", "Age"],
    );
  });

  it("release labels compare by version then revision; a CRD without them is older than any", () => {
    assert.ok(compareMcsLabels(release("v0.5.2"), release("v0.5.1")) > 0);
    assert.ok(compareMcsLabels(release("v0.5.2", "1"), release("v0.5.2", "0")) > 0);
    assert.ok(compareMcsLabels(release("v0.10.0"), release("v0.9.9")) > 0, "numerically, not as text");
    assert.equal(compareMcsLabels(release("v0.5.2"), release("v0.5.2")), 0);
    assert.ok(compareMcsLabels({}, release("v0.1.0")) < 0);
    assert.equal(compareMcsLabels(undefined, {}), 0);
  });

  it("absent → created; Causeway's own → updated unless newer; another installer's → kept when it serves v1beta1, else refused naming it and the fix", () => {
    assert.deepEqual(decideMcsCrd(undefined, serviceImport), { action: "create" });
    const own = { "app.kubernetes.io/part-of": "causeway" };
    assert.equal(decideMcsCrd(crd({ ...own, ...release("v0.5.1") }, ["v1alpha1", "v1beta1"]), serviceImport).action, "update");
    assert.equal(decideMcsCrd(crd(own, ["v1beta1"]), serviceImport).action, "update", "an older Causeway's, without release labels");
    const newer = decideMcsCrd(crd({ ...own, ...release("v9.0.0") }, ["v1beta1"]), serviceImport);
    assert.equal(newer.action, "keep");
    assert.match("why" in newer ? newer.why : "", /newer schema \(mcs-api v9\.0\.0 revision 0\): not downgraded/);
    const theirs = decideMcsCrd(crd({ "app.kubernetes.io/managed-by": "platform", ...release("v0.4.0") }, ["v1alpha1", "v1beta1"]), serviceImport);
    assert.equal(theirs.action, "keep", "never written over, even when older");
    assert.match("why" in theirs ? theirs.why : "", /another installer \(mcs-api v0\.4\.0 revision 0, serves v1alpha1, v1beta1\): used as it is/);
    const alphaOnly = decideMcsCrd(crd({}, ["v1alpha1"]), serviceImport);
    assert.equal(alphaOnly.action, "refuse");
    assert.match(
      "why" in alphaOnly ? alphaOnly.why : "",
      /CRD serviceimports\.multicluster\.x-k8s\.io belongs to another installer and serves v1alpha1, not v1beta1.*upgrade the MCS CRDs to mcs-api v\d+\.\d+\.\d+ or later.*or delete them/,
    );
  });
});
