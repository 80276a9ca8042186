import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { host } from "@causeway/common";
import { cableRole, type RemoteCable } from "./driver.ts";
import { driftedFrom, keyPairOf, peerState, planeDevice, presharedKeyOf, WG_CABLE, WireGuardCableDriver, wireguardDesired } from "./wireguard.ts";

const localEp = {
  cluster_id: "c1",
  cable_name: "causeway-cable-c1-198-18-1-10",
  healthCheckIP: "10.1.0.1",
  hostname: "n0",
  subnets: ["10.101.0.0/16", "10.1.0.0/16"],
  private_ip: "198.18.1.10",
  public_ip: "",
  nat_enabled: false,
  backend: "wireguard" as const,
  backend_config: { "udp-port": "4500" },
};
const remote = (id: string, n: number, publicKey: string | undefined, usingIP = `198.18.${n}.10`): RemoteCable => ({
  endpoint: {
    ...localEp,
    cluster_id: id,
    cable_name: `causeway-cable-${id}`,
    subnets: [`10.${100 + n}.0.0/16`, `10.${n}.0.0/16`],
    private_ip: `198.18.${n}.10`,
    backend_config: { "udp-port": "4500", ...(publicKey === undefined ? {} : { publicKey }) },
  },
  usingIP,
  usingNAT: false,
});

describe("wireguard cable", () => {
  it("preshared key: sha256 of the clusterset secret, 32 bytes base64", () => {
    const k = presharedKeyOf("default psk");
    assert.ok(host.isWgKey(k));
    assert.equal(k, presharedKeyOf("default psk"));
    assert.notEqual(k, presharedKeyOf("another"));
  });

  it("routes each remote subnet into the device from table 100 (rule 100), source the CNI address; UDP 4500 accepted", () => {
    const d = wireguardDesired("cw-wg", { endpoint: localEp, underlayMtu: 1400 }, [remote("c2", 2, "k")]);
    assert.deepEqual(
      d.net.routes.map((r) => `${r.dst} dev ${r.dev} src ${r.src} table ${r.table}`),
      ["10.102.0.0/16 dev cw-wg src 10.1.0.1 table 100", "10.2.0.0/16 dev cw-wg src 10.1.0.1 table 100"],
    );
    assert.deepEqual(d.net.rules, [{ priority: 100, table: 100 }]);
    assert.match(JSON.stringify(d.chains), /"dport":4500/);
  });

  it("active-active: one device per plane (a remote's slot) on udp-port + plane; a remote cluster's gateways through a next-hop group over their devices, flows from each pinned to it; peers dialled on their port + this gateway's slot", async () => {
    const aa = (n: number, host4: number, slot: number, key: string): RemoteCable => {
      const r = remote("c2", 2, key, `198.18.2.${host4}`);
      return {
        ...r,
        endpoint: {
          ...r.endpoint,
          cable_name: `causeway-cable-c2-${host4}`,
          private_ip: `198.18.2.${host4}`,
          backend_config: { ...r.endpoint.backend_config, "gateway-mode": "active-active", "gateway-slot": String(slot) },
        },
      };
    };
    const k1 = host.generateWgKeyPair().publicKey;
    const k2 = host.generateWgKeyPair().publicKey;
    const k3 = host.generateWgKeyPair().publicKey;
    const remotes = [aa(2, 10, 1, k1), aa(2, 11, 2, k2), remote("c3", 3, k3)];
    const me = { ...localEp, backend_config: { "udp-port": "4500", "gateway-mode": "active-active", "gateway-slot": "3" } };
    const d = wireguardDesired("cw-wg", { endpoint: me, underlayMtu: 1400 }, remotes);
    assert.deepEqual(
      d.net.routes.filter((r) => r.table === 100).map((r) => `${r.dst} ${r.nhid ? `nhid ${r.nhid}` : `dev ${r.dev}`}`),
      ["10.102.0.0/16 nhid 16000", "10.2.0.0/16 nhid 16000", "10.103.0.0/16 dev cw-wg", "10.3.0.0/16 dev cw-wg"],
    );
    assert.deepEqual(
      d.net.nexthops?.members.map((m) => `${m.id} dev ${m.dev}`),
      ["16001 dev cw-wg-1", "16002 dev cw-wg-2"],
    );
    assert.deepEqual(
      d.net.routes.filter((r) => r.table > 180).map((r) => `table ${r.table} ${r.dst} dev ${r.dev}`),
      ["table 181 10.102.0.0/16 dev cw-wg-1", "table 181 10.2.0.0/16 dev cw-wg-1", "table 182 10.102.0.0/16 dev cw-wg-2", "table 182 10.2.0.0/16 dev cw-wg-2"],
    );
    assert.deepEqual(
      d.net.rules.map((r) => `${r.priority} ${r.table}`),
      ["100 100", "91 181", "91 182"],
    );
    const pin = JSON.stringify(d.chains.find((c) => c.chain === "CAUSEWAY-GW-PREROUTING"));
    assert.match(pin, /"in":"cw-wg-1"\},"target":\{"kind":"CONNMARK_SET","mark":268435456/);
    assert.match(JSON.stringify(d.chains), /"dport":4500.*"dport":4501.*"dport":4502/);
    assert.equal(d.sysctls.get("net.ipv4.fib_multipath_hash_policy"), "1");

    const wg = new host.FakeWireGuard();
    const drv = new WireGuardCableDriver({ adapters: host.fakeHostAdapters(), wg, iface: "cw-wg" });
    const states = await drv.sync({ endpoint: me, underlayMtu: 1400 }, remotes);
    assert.equal(states.length, 3);
    // What an engine that starts again (a gateway unsure, then leading again) finds installed: the peers of every plane, so it keeps them while NAT discovery asks.
    assert.deepEqual([...(await drv.installedRemotes())].sort(), ["198.18.2.10", "198.18.2.11", "198.18.3.10"]);
    assert.deepEqual([...wg.devices.keys()].sort(), ["cw-wg", "cw-wg-1", "cw-wg-2"]);
    const dev = (n: string) => wg.devices.get(n)?.cfg;
    assert.deepEqual(
      ["cw-wg", "cw-wg-1", "cw-wg-2"].map(
        (n) =>
          `${n}:${dev(n)?.listenPort} ${dev(n)
            ?.peers.map((p) => p.endpoint)
            .join(",")}`,
      ),
      ["cw-wg:4500 198.18.3.10:4503", "cw-wg-1:4501 198.18.2.10:4503", "cw-wg-2:4502 198.18.2.11:4503"],
    );
    // A gateway of c2 withdrawn, draining: its device and peer stay (what it still sends arrives); nothing is routed or pinned to it.
    const draining = [remotes[0] as RemoteCable, remotes[2] as RemoteCable, { ...(remotes[1] as RemoteCable), draining: true }];
    const dd = wireguardDesired("cw-wg", { endpoint: me, underlayMtu: 1400 }, draining);
    assert.deepEqual(
      dd.net.nexthops?.members.map((m) => `${m.id} dev ${m.dev}`),
      ["16001 dev cw-wg-1"],
    );
    assert.ok(!dd.net.routes.some((r) => r.dev === "cw-wg-2"));
    assert.doesNotMatch(JSON.stringify(dd.chains.find((c) => c.chain === "CAUSEWAY-GW-PREROUTING")), /cw-wg-2/);
    assert.match(JSON.stringify(dd.chains), /"in":"cw-wg-2"\},"target":\{"kind":"ACCEPT"/);
    // The kernel's reverse-path check would drop what it sends (no route names its device): off on the devices, WireGuard checks the source.
    assert.deepEqual(
      ["cw-wg", "cw-wg-1", "cw-wg-2"].map((n) => dd.sysctls.get(`net.ipv4.conf.${n}.rp_filter`)),
      ["0", "0", "0"],
    );
    const drainStates = await drv.sync({ endpoint: me, underlayMtu: 1400 }, draining);
    assert.equal(drainStates.length, 3);
    assert.deepEqual([...wg.devices.keys()].sort(), ["cw-wg", "cw-wg-1", "cw-wg-2"]);
    assert.equal(dev("cw-wg-2")?.peers[0]?.publicKey, k2);
    // A gateway of c2 gone: its device goes.
    await drv.sync({ endpoint: me, underlayMtu: 1400 }, [remotes[0] as RemoteCable, remotes[2] as RemoteCable]);
    assert.deepEqual([...wg.devices.keys()].sort(), ["cw-wg", "cw-wg-1"]);
    // A restarted process removes the planes an earlier one left, then makes what it needs.
    const again = new WireGuardCableDriver({ adapters: host.fakeHostAdapters(), wg, iface: "cw-wg" });
    await again.sync({ endpoint: localEp, underlayMtu: 1400 }, [remotes[2] as RemoteCable]);
    assert.deepEqual([...wg.devices.keys()], ["cw-wg"]);
    await again.cleanup();
    assert.equal(wg.devices.size, 0);
    assert.throws(() => planeDevice("a-very-long-if", 12), /too long for active-active remotes/);
  });

  it("status from handshakes: connecting, connected, error after 130 s without one or 180 s after the last", () => {
    const peer = { publicKey: "k", endpoint: "198.18.2.10:4500", allowedIps: [], latestHandshake: 0, rxBytes: 10, txBytes: 20 };
    assert.equal(peerState("c2", undefined, 0, 5).status, "connecting");
    assert.equal(peerState("c2", peer, 1000, 1100).status, "connecting");
    assert.match(peerState("c2", peer, 1000, 1131).message, /no handshake with 198\.18\.2\.10:4500 after 131 s/);
    assert.equal(peerState("c2", { ...peer, latestHandshake: 2000 }, 1000, 2005).status, "connected");
    assert.match(peerState("c2", { ...peer, latestHandshake: 2000 }, 1000, 2005).message, /handshake 5 s ago; rx 10 B, tx 20 B/);
    assert.equal(peerState("c2", { ...peer, latestHandshake: 2000 }, 1000, 2181).status, "error");
  });

  it("one peer per remote cluster with its subnets, keepalive 10 s, the preshared key; MTU = underlay − 60", async () => {
    const a = host.fakeHostAdapters();
    const wg = new host.FakeWireGuard();
    const drv = new WireGuardCableDriver({ adapters: a, wg, iface: "cw-wg", secret: "s3cret" });
    const k2 = host.generateWgKeyPair().publicKey;
    const k3 = host.generateWgKeyPair().publicKey;
    const states = await drv.sync({ endpoint: localEp, underlayMtu: 1400 }, [remote("c2", 2, k2), remote("c3", 3, k3, "203.0.113.3")]);
    assert.deepEqual(
      states.map((s) => s.status),
      ["connecting", "connecting"],
    );
    const dev = wg.devices.get("cw-wg");
    assert.equal(dev?.mtu, 1400 - WG_CABLE.overhead);
    assert.equal(host.wgPublicKeyOf(dev?.cfg?.privateKey ?? ""), drv.publicKey);
    assert.deepEqual(drv.backendConfig(), { publicKey: drv.publicKey, "interface-name": "cw-wg" });
    const p3 = dev?.cfg?.peers.find((p) => p.publicKey === k3);
    assert.deepEqual(p3, {
      publicKey: k3,
      presharedKey: presharedKeyOf("s3cret"),
      endpoint: "203.0.113.3:4500",
      allowedIps: ["10.103.0.0/16", "10.3.0.0/16"],
      keepaliveSeconds: 10,
    });
    // A handshake makes it connected; an unchanged pass does not reconfigure the device.
    dev?.handshakes.set(k2, Math.floor(Date.now() / 1000));
    const calls = wg.configureCalls;
    const again = await drv.sync({ endpoint: localEp, underlayMtu: 1400 }, [remote("c2", 2, k2), remote("c3", 3, k3, "203.0.113.3")]);
    assert.equal(again[0]?.status, "connected");
    assert.equal(wg.configureCalls, calls);
    // A remote's new key (its gateway restarted) replaces the peer.
    const k2b = host.generateWgKeyPair().publicKey;
    await drv.sync({ endpoint: localEp, underlayMtu: 1400 }, [remote("c2", 2, k2b)]);
    assert.deepEqual(
      wg.devices.get("cw-wg")?.cfg?.peers.map((p) => p.publicKey),
      [k2b],
    );
    await drv.cleanup();
    assert.equal(wg.devices.size, 0);
    assert.equal(a.net.state.routes.length, 0);
  });

  it("--nattport and --preferred-server: listens on its own port, dials each remote on the remote's; a preferred server does not dial (the peer has no endpoint)", async () => {
    const wg = new host.FakeWireGuard();
    const drv = new WireGuardCableDriver({ adapters: host.fakeHostAdapters(), wg, iface: "cw-wg" });
    const k2 = host.generateWgKeyPair().publicKey;
    const k3 = host.generateWgKeyPair().publicKey;
    const server = { ...localEp, backend_config: { "udp-port": "4501", "preferred-server": "true" } };
    const onPort = (r: RemoteCable, port: string, pref = false): RemoteCable => ({
      ...r,
      endpoint: { ...r.endpoint, backend_config: { ...r.endpoint.backend_config, "udp-port": port, ...(pref ? { "preferred-server": "true" } : {}) } },
    });
    // c2 plain (a client of ours); c3 a preferred server too, with the larger cable name: we dial it.
    const c3 = { ...onPort(remote("c3", 3, k3), "4503", true), endpoint: { ...onPort(remote("c3", 3, k3), "4503", true).endpoint, cable_name: "zz" } };
    await drv.sync({ endpoint: server, underlayMtu: 1400 }, [onPort(remote("c2", 2, k2), "4502"), c3]);
    const cfg = wg.devices.get("cw-wg")?.cfg;
    assert.equal(cfg?.listenPort, 4501);
    assert.equal(cfg?.peers.find((p) => p.publicKey === k2)?.endpoint, undefined);
    assert.equal(cfg?.peers.find((p) => p.publicKey === k3)?.endpoint, "198.18.3.10:4503");
    // The firewall accepts this gateway's own port.
    const chains = wireguardDesired("cw-wg", { endpoint: server, underlayMtu: 1400 }, [remote("c2", 2, k2)]).chains;
    assert.equal(chains[0]?.rules[0]?.match.dport, 4501);
    // Plain on both sides: both dial.
    assert.deepEqual([cableRole(localEp, remote("c2", 2, k2).endpoint), cableRole(server, localEp), cableRole(localEp, server)], ["both", "server", "client"]);
  });

  it("drift: a device whose key, port, peers or allowed IPs were changed by hand is reconfigured; a roamed endpoint is not drift", () => {
    const me = host.generateWgKeyPair();
    const k2 = host.generateWgKeyPair().publicKey;
    const cfg: host.WgConfig = {
      privateKey: me.privateKey,
      listenPort: 4500,
      peers: [{ publicKey: k2, endpoint: "198.18.2.10:4500", allowedIps: ["10.2.0.0/16", "10.102.0.0/16"], keepaliveSeconds: 10 }],
    };
    const peer = { publicKey: k2, endpoint: "198.18.2.10:4500", allowedIps: ["10.102.0.0/16", "10.2.0.0/16"], latestHandshake: 0, rxBytes: 0, txBytes: 0 };
    const shown: host.WgStatus = { publicKey: me.publicKey, listenPort: 4500, peers: [peer] };
    assert.equal(driftedFrom(shown, me.publicKey, cfg), false);
    assert.equal(driftedFrom({ ...shown, peers: [{ ...peer, endpoint: "198.18.9.9:31000" }] }, me.publicKey, cfg), false, "roaming");
    assert.equal(driftedFrom({ ...shown, listenPort: 51821 }, me.publicKey, cfg), true);
    assert.equal(driftedFrom({ ...shown, peers: [{ ...peer, allowedIps: ["10.2.0.0/16"] }] }, me.publicKey, cfg), true);
    assert.equal(driftedFrom({ ...shown, peers: [{ ...peer, publicKey: host.generateWgKeyPair().publicKey }] }, me.publicKey, cfg), true);
    assert.equal(driftedFrom(shown, host.generateWgKeyPair().publicKey, cfg), true);
  });

  it("bad remote input: a key that is not 32 bytes of base64, or no reachable IP, errors that cable only", async () => {
    const wg = new host.FakeWireGuard();
    const drv = new WireGuardCableDriver({ adapters: host.fakeHostAdapters(), wg, iface: "cw-wg" });
    const good = host.generateWgKeyPair().publicKey;
    const states = await drv.sync({ endpoint: localEp, underlayMtu: 1500 }, [
      remote("c2", 2, "bm90IGEga2V5"),
      remote("c3", 3, undefined),
      remote("c4", 4, good, ""),
      remote("c5", 5, good),
    ]);
    assert.deepEqual(
      states.map((s) => [s.clusterId, s.status]),
      [
        ["c2", "error"],
        ["c3", "error"],
        ["c4", "error"],
        ["c5", "connecting"],
      ],
    );
    assert.match(states[0]?.message ?? "", /not a WireGuard key/);
    assert.match(states[2]?.message ?? "", /no reachable IP/);
    assert.deepEqual(
      wg.devices.get("cw-wg")?.cfg?.peers.map((p) => p.publicKey),
      [good],
    );
  });

  it("a restarted gateway (a new driver) recreates the device with a new key", async () => {
    const wg = new host.FakeWireGuard();
    const a = host.fakeHostAdapters();
    const first = new WireGuardCableDriver({ adapters: a, wg, iface: "cw-wg" });
    await first.sync({ endpoint: localEp, underlayMtu: 1500 }, []);
    const second = new WireGuardCableDriver({ adapters: a, wg, iface: "cw-wg" });
    assert.notEqual(second.publicKey, first.publicKey);
    await second.sync({ endpoint: localEp, underlayMtu: 1500 }, []);
    assert.equal(host.wgPublicKeyOf(wg.devices.get("cw-wg")?.cfg?.privateKey ?? ""), second.publicKey);
  });

  it("a restarted gateway that adopts the device keeps its key and its peers: no new handshake, nothing recreated", async () => {
    const wg = new host.FakeWireGuard();
    const a = host.fakeHostAdapters();
    const k2 = host.generateWgKeyPair().publicKey;
    const first = new WireGuardCableDriver({ adapters: a, wg, iface: "cw-wg" });
    await first.sync({ endpoint: localEp, underlayMtu: 1500 }, [remote("c2", 2, k2)]);
    const second = new WireGuardCableDriver({ adapters: a, wg, iface: "cw-wg" });
    assert.equal(await second.adopt(), true);
    assert.equal(second.publicKey, first.publicKey);
    const device = wg.devices.get("cw-wg");
    const cfg = JSON.stringify(device?.cfg);
    await second.sync({ endpoint: localEp, underlayMtu: 1500 }, [remote("c2", 2, k2)]);
    assert.equal(wg.devices.get("cw-wg"), device, "the device is not recreated");
    assert.equal(JSON.stringify(wg.devices.get("cw-wg")?.cfg), cfg, "same key, same peers (their sessions kept)");
    assert.equal(await new WireGuardCableDriver({ adapters: a, wg, iface: "other" }).adopt(), false, "no device, nothing to adopt");
  });
});

describe("the WireGuard key kept across container restarts (keyFile)", () => {
  it("made and written (0600) when the file holds none, the same key read back by the next process; a file without a key is replaced; no file: a new key each time", () => {
    const dir = mkdtempSync(join(tmpdir(), "causeway-wgkey-"));
    try {
      const file = join(dir, "sub", "private.key");
      const first = keyPairOf(file);
      assert.equal(readFileSync(file, "utf8").trim(), first.privateKey);
      assert.equal(statSync(file).mode & 0o777, 0o600);
      const again = keyPairOf(file);
      assert.deepEqual(again, first, "a restarted process: the same key pair");
      assert.equal(new WireGuardCableDriver({ adapters: host.fakeHostAdapters(), wg: new host.FakeWireGuard(), keyFile: file }).publicKey, first.publicKey);
      writeFileSync(file, "not a key\n");
      const replaced = keyPairOf(file);
      assert.notEqual(replaced.privateKey, first.privateKey);
      assert.equal(readFileSync(file, "utf8").trim(), replaced.privateKey);
      assert.notEqual(keyPairOf(undefined).privateKey, keyPairOf(undefined).privateKey);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
