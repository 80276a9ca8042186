import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import type https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { inClusterCredentials, inClusterEnv } from "./incluster.ts";

describe("in-cluster credentials (a pod's service account)", () => {
  const dir = mkdtempSync(join(tmpdir(), "cw-sa-"));
  const home = mkdtempSync(join(tmpdir(), "cw-home-"));
  writeFileSync(join(dir, "token"), "first-token\n");
  writeFileSync(join(dir, "ca.crt"), "CA PEM");
  const env = { KUBERNETES_SERVICE_HOST: "10.96.0.1", KUBERNETES_SERVICE_PORT: "443" };
  after(() => {
    for (const d of [dir, home]) rmSync(d, { recursive: true, force: true });
  });

  it("taken only as client-node's default would: no $KUBECONFIG, no ~/.kube/config, the Service's environment and the token there", () => {
    assert.equal(inClusterEnv(env, dir, home), true);
    assert.equal(inClusterEnv({ ...env, KUBECONFIG: "/x" }, dir, home), false);
    assert.equal(inClusterEnv({}, dir, home), false);
    assert.equal(inClusterEnv(env, join(dir, "absent"), home), false);
    const withConfig = mkdtempSync(join(tmpdir(), "cw-home-"));
    mkdirSync(join(withConfig, ".kube"));
    writeFileSync(join(withConfig, ".kube/config"), "apiVersion: v1\n");
    assert.equal(inClusterEnv(env, dir, withConfig), false, "a kubeconfig in the home directory comes first");
    rmSync(withConfig, { recursive: true, force: true });
  });

  it("the kubernetes Service's address, the service account's CA, and its token read again for every request (kubelet rotates it)", async () => {
    const c = inClusterCredentials({ ...env, KUBERNETES_SERVICE_HOST: "fd00::1" }, dir);
    assert.deepEqual(c.getCurrentCluster(), { server: "https://[fd00::1]:443", name: "inCluster" });
    const opts: https.RequestOptions = {};
    await c.applyToHTTPSOptions(opts);
    assert.equal(String(opts.ca), "CA PEM");
    assert.equal((opts.headers as Record<string, string>).Authorization, "Bearer first-token");
    writeFileSync(join(dir, "token"), "rotated-token\n");
    const again: https.RequestOptions = {};
    await c.applyToHTTPSOptions(again);
    assert.equal((again.headers as Record<string, string>).Authorization, "Bearer rotated-token");
  });
});
