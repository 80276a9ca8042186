/** The WireGuard-device contract: the same scenario against FakeWireGuard and the real device. Test code. */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { generateWgKeyPair, type WgConfig, type WireGuard } from "./wireguard.ts";

export interface WgFixture {
  readonly wg: WireGuard;
  /** A device name unique on this host (wireguard-go's control sockets are host-wide). */
  readonly name: string;
  /** Names the socket the device listens on now: another name after it was bound again. */
  socket(port: number): Promise<string>;
  close(): Promise<void>;
}

export function wireGuardContract(label: string, make: () => Promise<WgFixture>, skip?: string): void {
  describe(`WireGuard contract: ${label}`, { skip }, () => {
    let f: WgFixture;
    const me = generateWgKeyPair();
    const a = generateWgKeyPair();
    const b = generateWgKeyPair();
    const psk = generateWgKeyPair().privateKey;
    const cfg = (peers: WgConfig["peers"]): WgConfig => ({ privateKey: me.privateKey, listenPort: 4500, peers });
    const peerA = {
      publicKey: a.publicKey,
      presharedKey: psk,
      endpoint: "198.18.7.2:4500",
      allowedIps: ["10.2.0.0/16", "10.102.0.0/16"],
      keepaliveSeconds: 10,
    };
    const peerB = { publicKey: b.publicKey, endpoint: "198.18.7.3:4500", allowedIps: ["10.3.0.0/16"], keepaliveSeconds: 10 };

    before(async () => {
      f = await make();
    });
    after(async () => {
      await f.wg.remove(f.name);
      await f.close();
    });

    it("a missing device shows nothing; ensure creates it once", async () => {
      assert.equal(await f.wg.exists(f.name), false);
      assert.equal(await f.wg.show(f.name), undefined);
      assert.notEqual(await f.wg.ensure(f.name, 1420), "existing");
      assert.equal(await f.wg.ensure(f.name, 1340), "existing");
      assert.equal(await f.wg.exists(f.name), true);
      assert.deepEqual(await f.wg.existing([`${f.name}-9`, f.name]), [f.name]);
    });

    it("configure sets the key, port and peers; show reports them", async () => {
      await f.wg.configure(f.name, cfg([peerA, peerB]));
      const s = await f.wg.show(f.name);
      assert.equal(s?.publicKey, me.publicKey);
      assert.equal(s?.listenPort, 4500);
      assert.deepEqual(s?.peers.map((p) => p.publicKey).sort(), [a.publicKey, b.publicKey].sort());
      const pa = s?.peers.find((p) => p.publicKey === a.publicKey);
      assert.deepEqual([...(pa?.allowedIps ?? [])].sort(), ["10.102.0.0/16", "10.2.0.0/16"]);
      assert.equal(pa?.endpoint, "198.18.7.2:4500");
      assert.equal(pa?.latestHandshake, 0);
    });

    it("configure removes peers no longer listed and changes the rest", async () => {
      await f.wg.configure(f.name, cfg([{ ...peerB, allowedIps: ["10.3.0.0/16", "10.103.0.0/16"] }]));
      const s = await f.wg.show(f.name);
      assert.deepEqual(
        s?.peers.map((p) => p.publicKey),
        [b.publicKey],
      );
      assert.deepEqual([...(s?.peers[0]?.allowedIps ?? [])].sort(), ["10.103.0.0/16", "10.3.0.0/16"]);
    });

    it("configure with the port in place keeps the device's socket (wireguard-go rebinds whenever a port is set, losing what arrives meanwhile)", async () => {
      const before = await f.socket(4500);
      assert.ok(before, "a socket on the port");
      await f.wg.configure(f.name, cfg([{ ...peerB, allowedIps: ["10.3.0.0/16", "10.103.0.0/16"] }]));
      assert.equal(await f.socket(4500), before);
      assert.equal((await f.wg.show(f.name))?.listenPort, 4500);
    });

    it("a key that is not 32 bytes of base64 is refused", async () => {
      await assert.rejects(f.wg.configure(f.name, cfg([{ ...peerA, publicKey: "not-a-key" }])));
    });

    it("remove deletes the device; removing again is fine", async () => {
      await f.wg.remove(f.name);
      assert.equal(await f.wg.exists(f.name), false);
      await f.wg.remove(f.name);
    });
  });
}
