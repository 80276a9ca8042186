import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { IMPORT_MANAGED_LABEL, IMPORT_MANAGER } from "@causeway/common";
import { FOREIGN_IMPORT_REASON, foreignImportEvent, isOurImport } from "./foreign.ts";

describe("ServiceImports that are not Causeway's", () => {
  it("ours only with the managed label's value", () => {
    assert.equal(isOurImport({ metadata: { name: "a", labels: { [IMPORT_MANAGED_LABEL]: IMPORT_MANAGER } } }), true);
    assert.equal(isOurImport({ metadata: { name: "a", labels: { [IMPORT_MANAGED_LABEL]: "someone-else" } } }), false);
    assert.equal(isOurImport({ metadata: { name: "a" } }), false);
  });

  it("a Warning Event on the foreign import names it, the exporting clusters and what to do", () => {
    const e = foreignImportEvent({ metadata: { name: "web", namespace: "shop", uid: "u-1" } }, ["c1", "c2"], "lh-0", new Date("2026-12-04T10:00:00Z"));
    assert.equal(e.type, "Warning");
    assert.equal(e.reason, FOREIGN_IMPORT_REASON);
    assert.deepEqual(e.involvedObject, { apiVersion: "multicluster.x-k8s.io/v1beta1", kind: "ServiceImport", name: "web", namespace: "shop", uid: "u-1" });
    assert.equal(e.metadata.namespace, "shop");
    assert.match(e.message, /ServiceImport shop\/web is not Causeway's/);
    assert.match(e.message, /exported by c1, c2/);
    assert.match(e.message, /delete it to have Causeway's import/);
    assert.equal(e.firstTimestamp, "2026-12-04T10:00:00.000Z");
  });
});
