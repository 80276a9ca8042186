import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { it } from "node:test";

const MAIN = join(import.meta.dirname, "main.ts");

it("the WireGuard keeper without wireguard-go, or without its socket path, exits 2 naming what is missing", () => {
  const run = (args: string[], env: Record<string, string>) =>
    spawnSync(process.execPath, [MAIN, "--wireguard-keeper", ...args], { env: { ...process.env, ...env }, encoding: "utf8", timeout: 30_000 });
  const noGo = run(["/tmp/cw-keeper-test.sock"], { CAUSEWAY_WIREGUARD_GO: "/nonexistent/wireguard-go" });
  assert.equal(noGo.status, 2, noGo.stderr);
  assert.match(noGo.stdout + noGo.stderr, /\/nonexistent\/wireguard-go is not installed here/);
  const noSocket = run([], {});
  assert.equal(noSocket.status, 2);
  assert.match(noSocket.stdout + noSocket.stderr, /--wireguard-keeper needs the socket path/);
});
