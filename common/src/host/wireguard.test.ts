import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { describe, it } from "node:test";

import { wireGuardContract } from "./wireguard-contract.ts";
import { FakeWireGuard, generateWgKeyPair, isWgKey, parseWgDump, WgTools, WireGuardUnavailableError, wgPublicKeyOf, wgSetArgs } from "./wireguard.ts";

describe("WireGuard keys", () => {
  it("node:crypto x25519 keys are WireGuard keys, and the public key derives from the private one", () => {
    const k = generateWgKeyPair();
    assert.ok(isWgKey(k.privateKey) && isWgKey(k.publicKey));
    assert.equal(wgPublicKeyOf(k.privateKey), k.publicKey);
    assert.notEqual(generateWgKeyPair().privateKey, k.privateKey);
  });

  it("matches wg's own derivation (RFC 7748 test vector)", () => {
    // Alice's key pair from RFC 7748 §6.1, in base64.
    const priv = Buffer.from("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a", "hex").toString("base64");
    const pub = Buffer.from("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a", "hex").toString("base64");
    assert.equal(wgPublicKeyOf(priv), pub);
  });

  it("isWgKey refuses anything but 32 bytes of canonical base64", () => {
    for (const bad of ["", "abc", "A".repeat(44), `${Buffer.alloc(31).toString("base64")}`, `${Buffer.alloc(33).toString("base64")}`, 42, undefined]) {
      assert.equal(isWgKey(bad), false, String(bad));
    }
    assert.ok(isWgKey(Buffer.alloc(32, 7).toString("base64")));
  });
});

describe("wg text formats", () => {
  it("wg set arguments: everything for a fresh device; for a configured one only what differs (no port, no key, allowed IPs only when changed), gone peers removed; keys by file", () => {
    const me = generateWgKeyPair();
    const [a, b, c] = [generateWgKeyPair().publicKey, generateWgKeyPair().publicKey, generateWgKeyPair().publicKey];
    const cfg = {
      privateKey: me.privateKey,
      listenPort: 4500,
      peers: [
        { publicKey: a, presharedKey: "PSK", endpoint: "198.18.2.10:4500", allowedIps: ["10.2.0.0/16", "10.102.0.0/16"], keepaliveSeconds: 10 },
        { publicKey: b, allowedIps: ["10.3.0.0/16"], keepaliveSeconds: 10 },
      ],
    };
    const file = (k: string) => (k === me.privateKey ? "/run/k-private" : k === "PSK" ? "/run/k-psk" : `/run/?${k}`);
    const fresh = { publicKey: "", listenPort: 0, peers: [] };
    assert.deepEqual(wgSetArgs("cw0", cfg, fresh, file), [
      ...["set", "cw0", "listen-port", "4500", "private-key", "/run/k-private"],
      ...["peer", a, "preshared-key", "/run/k-psk", "endpoint", "198.18.2.10:4500", "persistent-keepalive", "10", "allowed-ips", "10.2.0.0/16,10.102.0.0/16"],
      ...["peer", b, "preshared-key", "/dev/null", "persistent-keepalive", "10", "allowed-ips", "10.3.0.0/16"],
    ]);
    const peer = (publicKey: string, allowedIps: string[]) => ({ publicKey, endpoint: "", allowedIps, latestHandshake: 0, rxBytes: 0, txBytes: 0 });
    const shown = {
      publicKey: me.publicKey,
      listenPort: 4500,
      peers: [peer(a, ["10.102.0.0/16", "10.2.0.0/16"]), peer(b, ["10.9.0.0/16"]), peer(c, ["10.4.0.0/16"])],
    };
    assert.deepEqual(wgSetArgs("cw0", cfg, shown, file), [
      ...["set", "cw0", "peer", c, "remove"],
      ...["peer", a, "preshared-key", "/run/k-psk", "endpoint", "198.18.2.10:4500", "persistent-keepalive", "10"],
      ...["peer", b, "preshared-key", "/dev/null", "persistent-keepalive", "10", "allowed-ips", "10.3.0.0/16"],
    ]);
    assert.ok(!wgSetArgs("cw0", cfg, fresh, file).some((x) => x === me.privateKey || x === "PSK"), "no key in an argument");
  });

  it("parses wg show dump, (none) and off included", () => {
    const s = parseWgDump(
      "PRIV\tPUB\t4500\toff\nPEER1\t(none)\t198.18.2.10:4500\t10.2.0.0/16,10.102.0.0/16\t1700000000\t1024\t2048\t10\nPEER2\tPSK\t(none)\t(none)\t0\t0\t0\toff\n",
    );
    assert.equal(s?.publicKey, "PUB");
    assert.equal(s?.listenPort, 4500);
    assert.deepEqual(s?.peers[0], {
      publicKey: "PEER1",
      endpoint: "198.18.2.10:4500",
      allowedIps: ["10.2.0.0/16", "10.102.0.0/16"],
      latestHandshake: 1700000000,
      rxBytes: 1024,
      txBytes: 2048,
    });
    assert.deepEqual(s?.peers[1]?.allowedIps, []);
    assert.equal(s?.peers[1]?.endpoint, "");
    assert.equal(parseWgDump(""), undefined);
  });

  it("a missing wireguard-go names the package to install; a missing /dev/net/tun names the module and the mount", async () => {
    const run = {
      run: async (file: string) => ({ exitCode: file === "ip" ? 2 : 0, signal: null, stdout: "", stderr: "Error: Unknown device type.", durationMs: 0 }),
    };
    const wg = new WgTools(run, (p) => p === "wg");
    await assert.rejects(wg.ensure("cw-x", 1420), (e: unknown) => e instanceof WireGuardUnavailableError && /apt-get install wireguard-go/.test(e.message));
    const noTools = new WgTools(run, () => false);
    await assert.rejects(noTools.ensure("cw-x", 1420), /install the wireguard-tools package/);
    // The gateway checks this before it touches anything (preflight).
    assert.throws(() => noTools.preflight(), /install the wireguard-tools package/);
    if (!existsSync("/sys/module/wireguard")) assert.throws(() => wg.preflight(), /apt-get install wireguard-go/);
    new WgTools(run, () => true).preflight();
    if (!existsSync("/sys/module/wireguard"))
      assert.throws(
        () => new WgTools(run, () => true, "wireguard-go", "/nonexistent/net/tun").preflight(),
        /wireguard-go needs \/nonexistent\/net\/tun, which is missing here: load the tun module on the node \(modprobe tun\); in a container, mount the node's/,
      );
  });
});

wireGuardContract("fake", async () => {
  const wg = new FakeWireGuard();
  const name = "cwfake0";
  return {
    wg,
    name,
    socket: async (port) => {
      const d = wg.devices.get(name);
      return d?.cfg?.listenPort === port ? `bind ${d.binds}` : "";
    },
    close: async () => {},
  };
});
