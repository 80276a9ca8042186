/**
 * What the CLI loads, recorded by a hook on every module it resolves. It loads the lab only for
 * commands that work on a lab: `show --broker … -o json`, `deploy-broker --help` and `join` load
 * nothing from lab/ (the Kubernetes e2e checks a `join --dry-run` that succeeds). And it starts
 * light: `--help` loads no other workspace, `show --broker` neither the Kubernetes client nor the
 * metrics or logging libraries (the start-up budget of the README: --help ≤ 200 ms, show ≤ 300 ms).
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type RunningBroker, startBroker } from "@causeway/broker";
import { silentLogger } from "@causeway/common";
import { BrokerConnection } from "@causeway/common/broker-client";

const CLI = join(import.meta.dirname, "main.ts");
const HOOK = join(import.meta.dirname, "testdata/record-modules.mjs");
const LAB_DIR = join(import.meta.dirname, "../../lab/");

/** Runs the CLI with the module hook (asynchronously: the broker answers from this process); its result and the URLs of the modules it resolved. */
async function causeway(dir: string, args: readonly string[]) {
  const log = join(dir, `modules-${Date.now()}-${Math.random()}.log`);
  writeFileSync(log, "");
  const child = spawn(process.execPath, ["--import", HOOK, CLI, ...args], { env: { ...process.env, CW_MODULE_LOG: log }, timeout: 30_000 });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const status = await new Promise<number | null>((resolve) => child.on("close", resolve));
  const modules = readFileSync(log, "utf8").split("\n").filter(Boolean);
  return { status, stdout, stderr, modules };
}

const fromLab = (modules: readonly string[]) => modules.filter((u) => u.startsWith(`file://${LAB_DIR}`));

describe("what the CLI loads: no lab unless it works on a lab, a light start", () => {
  let dir: string;
  let broker: RunningBroker;
  let sock: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "cw-cli-labs-"));
    sock = `unix://${join(dir, "broker.sock")}`;
    broker = await startBroker({ listen: [sock], db: join(dir, "b.db"), adminTokenFile: join(dir, "admin") }, silentLogger());
    const admin = new BrokerConnection({ address: sock, token: readFileSync(join(dir, "admin"), "utf8").trim() });
    await admin.join({ cluster_id: "c1", cluster_cidr: ["10.1.0.0/16"], service_cidr: ["10.101.0.0/16"], global_cidr: [] });
    admin.close();
  });
  after(async () => {
    await broker?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("show --broker … -o json answers from the broker without loading the lab", async () => {
    const r = await causeway(dir, ["show", "networks", "--broker", sock, "--token-file", join(dir, "admin"), "-o", "json"]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /"c1"/);
    assert.ok(
      r.modules.some((u) => u.includes("/common/src/broker/client.ts")),
      "the broker client was loaded",
    );
    assert.deepEqual(fromLab(r.modules), []);
  });

  it("deploy-broker --help loads no lab module", async () => {
    const r = await causeway(dir, ["deploy-broker", "--help"]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /--broker-url/);
    assert.deepEqual(fromLab(r.modules), []);
  });

  it("join runs into deploy's join (here: an API server that refuses) without loading the lab", async () => {
    const kubeconfig = join(dir, "kubeconfig");
    writeFileSync(
      kubeconfig,
      "apiVersion: v1\nkind: Config\nclusters: [{name: x, cluster: {server: 'https://127.0.0.1:1'}}]\nusers: [{name: x, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: x, user: x}}]\ncurrent-context: x\n",
    );
    const info = join(dir, "broker-info.subm");
    writeFileSync(info, Buffer.from(JSON.stringify({ brokerURL: sock, adminToken: "cwa.abcdefghijklmnopqrstuv" })).toString("base64url"));
    const r = await causeway(dir, ["join", info, "--kubeconfig", kubeconfig, "--clusterid", "c9", "--dry-run"]);
    assert.equal(r.status, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /cannot reach the API server https:\/\/127\.0\.0\.1:1/);
    assert.ok(
      r.modules.some((u) => u.includes("/deploy/src/join.ts")),
      "deploy's join was loaded",
    );
    assert.deepEqual(fromLab(r.modules), []);
  });

  it("--help loads nothing but the CLI's own command files and commander", async () => {
    const r = await causeway(dir, ["--help"]);
    assert.equal(r.status, 0, r.stderr);
    const foreign = r.modules.filter((u) => u.startsWith("file://") && !u.includes("/cli/src/") && !/node_modules\/commander\//.test(u));
    assert.deepEqual(foreign, []);
  });

  it("show --broker loads neither the Kubernetes client, nor prom-client, pino or yaml", async () => {
    const r = await causeway(dir, ["show", "networks", "--broker", sock, "--token-file", join(dir, "admin"), "-o", "json"]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(
      r.modules.filter((u) => /node_modules\/(@kubernetes\/client-node|prom-client|pino|yaml)\//.test(u)),
      [],
    );
  });

  it("a lab command does load the lab (the check can fail)", async () => {
    const r = await causeway(dir, ["lab", "status", "--name", "cw-no-such-lab"]);
    assert.ok(fromLab(r.modules).length > 0, r.stdout + r.stderr);
  });
});
