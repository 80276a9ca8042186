import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { stringify } from "yaml";
import { closest, KubeClient } from "./client.ts";
import { KubeConfigError } from "./errors.ts";

describe("kubeconfig contexts", () => {
  it("an unknown context is refused naming the likely one and the others", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cw-kc-"));
    try {
      const file = join(dir, "config");
      const ctx = (name: string) => ({ name, context: { cluster: name, user: name } });
      writeFileSync(
        file,
        stringify({
          apiVersion: "v1",
          kind: "Config",
          clusters: ["east", "west"].map((name) => ({ name, cluster: { server: "https://198.18.250.9:6443" } })),
          users: ["east", "west"].map((name) => ({ name, user: { token: "t" } })),
          contexts: [ctx("east"), ctx("west")],
          "current-context": "east",
        }),
      );
      await assert.rejects(KubeClient.connect({ kubeconfig: file, context: "eats" }), (err: unknown) => {
        assert.ok(err instanceof KubeConfigError);
        assert.match(err.message, /context "eats" is not in kubeconfig .*; did you mean "east"\? \(contexts: east, west\)/);
        return true;
      });
      await assert.rejects(KubeClient.connect({ kubeconfig: file, context: "production" }), /is not in kubeconfig [^;]*\(contexts: east, west\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("no current context, or one the file does not define: named, with the contexts there are", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cw-kc-"));
    try {
      const write = (current: string | undefined) => {
        const file = join(dir, `config-${current ?? "none"}`);
        writeFileSync(
          file,
          stringify({
            apiVersion: "v1",
            kind: "Config",
            clusters: [{ name: "east", cluster: { server: "https://198.18.250.9:6443" } }],
            users: [{ name: "east", user: { token: "t" } }],
            contexts: [{ name: "east", context: { cluster: "east", user: "east" } }],
            ...(current ? { "current-context": current } : {}),
          }),
        );
        return file;
      };
      await assert.rejects(KubeClient.connect({ kubeconfig: write(undefined) }), (err: unknown) => {
        assert.ok(err instanceof KubeConfigError);
        assert.match(err.message, /has no current context; pass --context \(contexts: east\)/);
        return true;
      });
      await assert.rejects(
        KubeClient.connect({ kubeconfig: write("gone") }),
        /names current context "gone", which it does not define; pass --context \(contexts: east\)/,
      );
      const ok = await KubeClient.connect({ kubeconfig: write(undefined), context: "east" });
      ok.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("closest: a likely typo, or nothing", () => {
    assert.equal(closest("c3", ["c1", "c2"]), "c1");
    assert.equal(closest("westt", ["east", "west"]), "west");
    assert.equal(closest("production", ["east", "west"]), undefined);
  });
});
