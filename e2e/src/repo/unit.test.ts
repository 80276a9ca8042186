/**
 * `npm run test:unit` runs no kernel, root or server-process test, even as root: it runs here with
 * every tool such a test would start (ip, nats-server, etcd, kube-apiserver, wireguard-go, …)
 * behind a recording shim on PATH, and the network namespaces are compared before and after.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { REPO_ROOT } from "@causeway/lab";

const TOOLS = [
  "ip",
  "nats-server",
  "etcd",
  "kube-apiserver",
  "wireguard-go",
  "wg",
  "iptables",
  "iptables-restore",
  "nft",
  "ping",
  "iperf3",
  "helm",
  "go",
  "coredns",
];
const netns = () => spawnSync("ip", ["netns", "list"], { encoding: "utf8" }).stdout;

/**
 * Runs `args` with node in its own process group; past `ms` the whole group is killed (the
 * test runner's children too: killing only the top process leaves them holding the pipes).
 */
function runGroup(args: string[], o: { cwd: string; env: NodeJS.ProcessEnv; ms: number }): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: o.cwd, env: o.env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      stderr += `\nkilled: not done within ${o.ms} ms`;
      if (child.pid) process.kill(-child.pid, "SIGKILL");
    }, o.ms);
    child.on("close", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

describe("test:unit starts no namespace and no server", { timeout: 300_000 }, () => {
  it("the unit run passes with every system tool recorded, and none of them started a namespace or a server", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cw-unit-shims-"));
    const log = join(dir, "calls.log");
    try {
      for (const tool of TOOLS) {
        const real = spawnSync("sh", ["-c", `command -v ${tool}`], { encoding: "utf8" }).stdout.trim();
        const body = `#!/bin/sh\necho "${tool} $*" >> ${log}\n${real ? `exec ${real} "$@"` : "exit 127"}\n`;
        writeFileSync(join(dir, tool), body);
        chmodSync(join(dir, tool), 0o755);
      }
      const before = netns();
      // Without NODE_TEST_CONTEXT the inner run reports as a top-level run (its own summary).
      const { NODE_TEST_CONTEXT: _inner, ...env } = process.env;
      const r = await runGroup(["scripts/test.ts", "--unit"], { cwd: REPO_ROOT, env: { ...env, PATH: `${dir}:${process.env.PATH ?? ""}` }, ms: 280_000 });
      assert.equal(r.status, 0, r.stdout.slice(-3000) + r.stderr.slice(-2000));
      assert.match(r.stdout, /ℹ pass [1-9]\d*/);
      const calls = existsSync(log) ? readFileSync(log, "utf8").trim().split("\n").filter(Boolean) : [];
      const servers = calls.filter((c) => /^(nats-server|etcd|kube-apiserver|wireguard-go|coredns) /.test(c));
      const namespaces = calls.filter((c) => /^ip .*netns (add|exec)/.test(c) || /^ip -n /.test(c));
      assert.deepEqual(servers, [], "server processes started");
      assert.deepEqual(namespaces, [], "network namespaces made or entered");
      assert.equal(netns(), before, "the host's namespaces changed");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
