import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { createConnection } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { silentLogger } from "../log.ts";
import { keeperUp, WireGuardKeeper } from "./wgkeeper.ts";

/**
 * A stand-in for wireguard-go -f <dev>: makes the device's control socket (a plain file here) and
 * runs until the device goes (the file removed, as `ip link del` ends wireguard-go); "bad" fails
 * as wireguard-go does without a TUN device. Each start is counted.
 */
const FAKE = `#!/bin/sh
[ "$1" = "-f" ] || { echo "expected -f" >&2; exit 9; }
echo "$2" >> "$FAKE_WG_RUN_DIR/starts"
[ "$2" = "bad" ] && { echo "Failed to create TUN device: no such file or directory" >&2; exit 1; }
[ "$2" = "slow" ] && sleep 0.3
: > "$FAKE_WG_RUN_DIR/$2.sock"
trap 'exit 0' TERM
while [ -e "$FAKE_WG_RUN_DIR/$2.sock" ]; do sleep 0.02; done
`;

describe("WireGuard keeper", () => {
  let dir: string;
  let keeper: WireGuardKeeper;
  let socket: string;
  const starts = () => (existsSync(join(dir, "starts")) ? readFileSync(join(dir, "starts"), "utf8").trim().split("\n") : []);
  const until = async (what: string, ok: () => boolean) => {
    for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(ok(), what);
  };
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "cw-keeper-"));
    writeFileSync(join(dir, "wireguard-go"), FAKE);
    chmodSync(join(dir, "wireguard-go"), 0o755);
    process.env.FAKE_WG_RUN_DIR = dir;
    socket = join(dir, "k", "keeper.sock");
    keeper = new WireGuardKeeper({
      socket,
      wireguardGo: join(dir, "wireguard-go"),
      runDir: dir,
      linkExists: (n) => existsSync(join(dir, `${n}.sock`)),
      log: silentLogger(),
    });
    await keeper.listen();
  });
  after(async () => {
    await keeper.close(100);
    rmSync(dir, { recursive: true, force: true });
  });

  it("starts wireguard-go for a device and answers once its control socket is there; a device already up is not started again", async () => {
    await keeperUp(socket, "slow");
    assert.ok(existsSync(join(dir, "slow.sock")), "answered before the device was up");
    await keeperUp(socket, "slow");
    assert.deepEqual(starts(), ["slow"]);
    assert.deepEqual(keeper.running(), ["slow"]);
  });

  it("a device removed ends its wireguard-go; asked again, it starts a new one", async () => {
    rmSync(join(dir, "slow.sock"));
    await until("wireguard-go exited with its device", () => !keeper.running().includes("slow"));
    await keeperUp(socket, "slow");
    assert.deepEqual(starts(), ["slow", "slow"]);
    assert.ok(existsSync(join(dir, "slow.sock")));
  });

  it("a wireguard-go that fails: the gateway gets its message", async () => {
    await assert.rejects(keeperUp(socket, "bad"), /could not make bad: wireguard-go bad exited \(1\): Failed to create TUN device/);
  });

  it("refuses what is not a device name, and a request that is not one", async () => {
    await assert.rejects(keeperUp(socket, "../../etc"), /not a device name/);
    await assert.rejects(keeperUp(socket, "x".repeat(16)), /not a device name/);
    const raw = await new Promise<string>((resolve, reject) => {
      const c = createConnection(socket);
      let out = "";
      c.setEncoding("utf8").on("data", (d: string) => (out += d));
      c.on("end", () => resolve(out)).on("error", reject);
      c.write("up wg0\n");
    });
    assert.match(raw, /"error":"not a keeper request/);
    assert.ok(!starts().some((s) => s.includes("etc") || s.startsWith("xx") || s === "wg0"), "nothing started for them");
  });

  it("no keeper at the socket: the error says which container to look at", async () => {
    await assert.rejects(keeperUp(join(dir, "none.sock"), "wg0"), /cannot reach the WireGuard keeper .*wireguard container/);
  });

  it("stopping, it waits for the gateway to remove the devices (not past its grace), then ends what is left", async () => {
    const k2dir = join(dir, "k2");
    const k2 = new WireGuardKeeper({
      socket: join(k2dir, "keeper.sock"),
      wireguardGo: join(dir, "wireguard-go"),
      runDir: dir,
      linkExists: (n) => existsSync(join(dir, `${n}.sock`)),
      log: silentLogger(),
    });
    await k2.listen();
    await keeperUp(join(k2dir, "keeper.sock"), "kept1");
    await keeperUp(join(k2dir, "keeper.sock"), "kept2");
    // The gateway removes one device 150 ms into the stop; the other stays past the grace.
    setTimeout(() => rmSync(join(dir, "kept1.sock")), 150);
    const t0 = performance.now();
    let firstGone = 0;
    void until("kept1 gone", () => !k2.running().includes("kept1")).then(() => (firstGone = performance.now() - t0));
    await k2.close(400);
    const took = performance.now() - t0;
    assert.ok(firstGone > 100, `kept1's wireguard-go ended ${Math.round(firstGone)} ms in: before the gateway removed its device`);
    assert.ok(took >= 400 && took < 2500, `close took ${Math.round(took)} ms (grace 400 ms)`);
    assert.deepEqual(k2.running(), [], "wireguard-go left running");
    assert.ok(!existsSync(join(k2dir, "keeper.sock")), "its socket left behind");
    rmSync(join(dir, "kept2.sock"), { force: true });
  });
});
