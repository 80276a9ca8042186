import assert from "node:assert/strict";
import { createSocket, type Socket } from "node:dgram";
import { after, describe, it } from "node:test";
import { type Endpoint, NatDiscoveryMessage, NatResponseType } from "@causeway/api";
import { createLogger } from "@causeway/common";
import { fallbackDecision, NatDiscovery } from "./discovery.ts";
import { answerRequest, decodeMessage, encodeRequest, encodeResponse } from "./protocol.ts";

const log = createLogger("nat-test", {}, "silent");

const ep = (id: string, privateIp: string, port: number, extra: Partial<Endpoint> = {}): Endpoint => ({
  cluster_id: id,
  cable_name: `causeway-cable-${id}-${privateIp.replaceAll(".", "-")}`,
  healthCheckIP: "",
  hostname: `${id}-gw`,
  subnets: [`10.${id.slice(1)}.0.0/16`],
  private_ip: privateIp,
  public_ip: "",
  nat_enabled: false,
  backend: "wireguard",
  backend_config: { "natt-discovery-port": String(port) },
  ...extra,
});

const until = async (what: string, ok: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

const request = (from: Endpoint, to: Endpoint, src: string, srcPort: number, dst: string) => ({
  requestNumber: 7n,
  sender: { clusterId: from.cluster_id, endpointId: from.cable_name },
  receiver: { clusterId: to.cluster_id, endpointId: to.cable_name },
  usingSrc: { IP: src, port: srcPort },
  usingDst: { IP: dst, port: 4490 },
});

describe("NAT discovery protocol (UDP 4490)", () => {
  const a = ep("c1", "198.18.1.10", 4490);
  const b = ep("c2", "198.18.2.10", 4490);

  it("is Submariner's wire format: field numbers and types as in natdiscovery.proto", () => {
    const bytes = Buffer.from(
      encodeRequest({
        requestNumber: 1n,
        sender: { clusterId: "a", endpointId: "b" },
        receiver: undefined,
        usingSrc: { IP: "1.2.3.4", port: 4490 },
        usingDst: undefined,
      }),
    ).toString("hex");
    // version=1 (field 1 varint), request (field 2, length 24): request_number=1, sender {cluster_id "a", endpoint_id "b"}, using_src {IP "1.2.3.4", port 4490}
    assert.equal(bytes, "08011218080112060a0161120162220c0a07312e322e332e34108a23");
    const res = NatDiscoveryMessage.decode(
      encodeResponse({ ...answerRequest(b, request(a, b, "198.18.1.10", 4490, "198.18.2.10"), { address: "198.18.1.10", port: 4490 }) }),
    );
    assert.equal(res.version, 0, "responses leave version unset");
  });

  it("answers OK when nothing was translated, NAT_DETECTED naming what was", () => {
    const ok = answerRequest(b, request(a, b, "198.18.1.10", 4490, "198.18.2.10"), { address: "198.18.1.10", port: 4490 });
    assert.equal(ok.response, NatResponseType.OK);
    assert.deepEqual(ok.receivedSrc, { IP: "198.18.1.10", port: 4490 });
    const snat = answerRequest(b, request(a, b, "198.19.201.10", 4490, "198.18.2.10"), { address: "198.18.1.10", port: 31000 });
    assert.equal(snat.response, NatResponseType.NAT_DETECTED);
    assert.deepEqual([snat.srcIpNatDetected, snat.srcPortNatDetected, snat.dstIpNatDetected], [true, true, false]);
    const dnat = answerRequest(b, request(a, b, "198.18.1.10", 4490, "203.0.113.9"), { address: "198.18.1.10", port: 4490 });
    assert.equal(dnat.response, NatResponseType.NAT_DETECTED);
    assert.equal(dnat.dstIpNatDetected, true);
  });

  it("refuses requests for another cluster or endpoint, and malformed ones", () => {
    const obs = { address: "198.18.1.10", port: 4490 };
    assert.equal(answerRequest(b, request(a, a, "198.18.1.10", 4490, "198.18.2.10"), obs).response, NatResponseType.UNKNOWN_DST_CLUSTER);
    assert.equal(
      answerRequest(b, request(a, { ...b, cable_name: "old" }, "198.18.1.10", 4490, "198.18.2.10"), obs).response,
      NatResponseType.UNKNOWN_DST_ENDPOINT,
    );
    assert.equal(answerRequest(b, { ...request(a, b, "x", 1, "y"), usingSrc: undefined }, obs).response, NatResponseType.MALFORMED);
  });

  it("decodeMessage never throws on garbage", () => {
    for (const g of [Buffer.alloc(0), Buffer.from([0xff, 0xff, 0xff]), Buffer.from("hello world"), Buffer.alloc(4096, 1), Buffer.from([0x12, 0x7f])]) {
      assert.equal(decodeMessage(g), undefined);
    }
  });

  it("falls back to configuration: public + NAT when declared or behind a load balancer, else private", () => {
    assert.deepEqual(fallbackDecision(b), { usingIP: "198.18.2.10", useNAT: false, how: "fallback" });
    assert.deepEqual(fallbackDecision({ ...b, public_ip: "203.0.113.2", nat_enabled: true }), { usingIP: "203.0.113.2", useNAT: true, how: "fallback" });
    const lb = { ...b, public_ip: "203.0.113.2", backend_config: { "using-loadbalancer": "true" } };
    assert.equal(fallbackDecision(lb).usingIP, "203.0.113.2");
  });
});

describe("NAT discovery between two gateways (real UDP on loopback)", () => {
  const open: (NatDiscovery | Socket)[] = [];
  after(() => {
    for (const o of open) {
      if (o instanceof NatDiscovery) o.stop();
      else o.close();
    }
  });

  async function gateway(local: Endpoint, bind: string, o: { timeoutMs?: number } = {}) {
    const port = Number(local.backend_config["natt-discovery-port"]);
    const nat = new NatDiscovery({ port, bindAddress: bind, log, sourceFor: async () => bind, tickMs: 50, resendMs: 100, ...o });
    open.push(nat);
    let changes = 0;
    nat.start(() => changes++);
    await nat.listen();
    nat.setLocal(local);
    return { nat, changes: () => changes };
  }

  it("two active-active gateways of one cluster: each asked and decided on its own, keyed by cable name", async () => {
    const aa = (ip: string, port: number, slot: number) =>
      ep("c2", ip, port, {
        hostname: `c2-gw${slot}`,
        backend_config: { "natt-discovery-port": String(port), "gateway-mode": "active-active", "gateway-slot": String(slot) },
      });
    const a = ep("c1", "127.0.0.81", 24981);
    const b1 = aa("127.0.0.82", 24982, 1);
    const b2 = aa("127.0.0.83", 24983, 2);
    const ga = await gateway(a, "127.0.0.81");
    const gb1 = await gateway(b1, "127.0.0.82");
    const gb2 = await gateway(b2, "127.0.0.83");
    ga.nat.track([b1, b2]);
    gb1.nat.track([a]);
    gb2.nat.track([a]);
    await until("both decisions", () => Boolean(ga.nat.decision(b1.cable_name) && ga.nat.decision(b2.cable_name)));
    assert.equal(ga.nat.decision(b1.cable_name)?.usingIP, "127.0.0.82");
    assert.equal(ga.nat.decision(b2.cable_name)?.usingIP, "127.0.0.83");
    assert.equal(ga.nat.decision("c2"), undefined, "not keyed by cluster");
    ga.nat.track([b2]);
    assert.equal(ga.nat.decision(b1.cable_name), undefined, "a gateway gone is forgotten");
    assert.equal(ga.nat.decision(b2.cable_name)?.usingIP, "127.0.0.83", "the other keeps its decision");
  });

  it("both private addresses answer: private, no NAT, both ways", async () => {
    const a = ep("c1", "127.0.0.11", 24911);
    const b = ep("c2", "127.0.0.12", 24912);
    const ga = await gateway(a, "127.0.0.11");
    const gb = await gateway(b, "127.0.0.12");
    ga.nat.track([b]);
    gb.nat.track([a]);
    await until("both decisions", () => Boolean(ga.nat.decision("c2") && gb.nat.decision("c1")));
    assert.deepEqual(ga.nat.decision("c2"), { usingIP: "127.0.0.12", useNAT: false, how: "private" });
    assert.deepEqual(gb.nat.decision("c1"), { usingIP: "127.0.0.11", useNAT: false, how: "private" });
    assert.ok(ga.changes() >= 1);
  });

  it("private unreachable, public answers through a destination NAT: public, NAT detected", async () => {
    const a = ep("c1", "127.0.0.21", 24921);
    // c2's private address is not this socket's: the request to its public address arrives "translated".
    const b = ep("c2", "127.0.0.29", 24922, { public_ip: "127.0.0.22" });
    const ga = await gateway(a, "127.0.0.21");
    const gb = await gateway(b, "127.0.0.22");
    ga.nat.track([b]);
    await until("a decision", () => Boolean(ga.nat.decision("c2")));
    assert.deepEqual(ga.nat.decision("c2"), { usingIP: "127.0.0.22", useNAT: true, how: "public" });
    assert.ok(gb.nat.counters.requestsReceived >= 1);
  });

  it("no answer: the configured address after the timeout", async () => {
    const a = ep("c1", "127.0.0.31", 24931);
    const silent = ep("c3", "127.0.0.39", 24939, { public_ip: "127.0.0.38", nat_enabled: true });
    const ga = await gateway(a, "127.0.0.31", { timeoutMs: 400 });
    ga.nat.track([silent]);
    assert.equal(ga.nat.decision("c3"), undefined, "undecided while asking");
    await until("the fallback", () => Boolean(ga.nat.decision("c3")));
    assert.deepEqual(ga.nat.decision("c3"), { usingIP: "127.0.0.38", useNAT: true, how: "fallback" });
  });

  it("a restarted gateway adopts the address its cable already uses (private, or public behind NAT) instead of waiting for discovery", () => {
    const a = ep("c1", "127.0.0.61", 24961);
    const nat = new NatDiscovery({ port: 24962, bindAddress: "127.0.0.61", log, sourceFor: async () => "127.0.0.61", timeoutMs: 60_000 });
    open.push(nat);
    nat.setLocal(a);
    const priv = ep("c6", "127.0.0.69", 24969);
    const behindNat = ep("c7", "127.0.0.79", 24979, { public_ip: "127.0.0.78", nat_enabled: true });
    const fresh = ep("c8", "127.0.0.89", 24989);
    nat.track([priv, behindNat, fresh]);
    const installed = new Set(["127.0.0.69", "127.0.0.78"]);
    assert.equal(nat.adopt("c6", installed), true);
    assert.equal(nat.adopt("c7", installed), true);
    assert.equal(nat.adopt("c8", installed), false);
    assert.deepEqual(nat.decision("c6"), { usingIP: "127.0.0.69", useNAT: false, how: "kept" });
    assert.deepEqual(nat.decision("c7"), { usingIP: "127.0.0.78", useNAT: true, how: "kept" });
    assert.equal(nat.decision("c8"), undefined, "no cable yet: discovery decides");
    assert.equal(nat.adopt("c6", new Set(["127.0.0.1"])), false, "decided remotes are left alone");
  });

  it("garbage, answers from a wrong address and from another endpoint are counted and ignored; the right answer still wins", async () => {
    const a = ep("c1", "127.0.0.41", 24941);
    const fake = ep("c4", "127.0.0.45", 24945);
    const ga = await gateway(a, "127.0.0.41");
    const peer = createSocket("udp4");
    const spoofer = createSocket("udp4");
    open.push(peer, spoofer);
    await new Promise<void>((r) => peer.bind(24945, "127.0.0.45", r));
    await new Promise<void>((r) => spoofer.bind(0, "127.0.0.46", r));
    const asked = new Promise<bigint>((resolve) =>
      peer.once("message", (msg) => {
        const m = decodeMessage(msg);
        if (m?.message?.$case === "request") resolve(m.message.value.requestNumber);
      }),
    );
    ga.nat.track([fake]);
    const n = await asked;
    const answer = (sender: Endpoint) =>
      encodeResponse({
        requestNumber: n,
        response: NatResponseType.OK,
        sender: { clusterId: sender.cluster_id, endpointId: sender.cable_name },
        receiver: { clusterId: a.cluster_id, endpointId: a.cable_name },
        srcIpNatDetected: false,
        srcPortNatDetected: false,
        dstIpNatDetected: false,
        receivedSrc: { IP: "127.0.0.41", port: 24941 },
      });
    const send = (s: Socket, buf: Uint8Array) => new Promise<void>((r) => s.send(buf, 24941, "127.0.0.41", () => r()));
    for (const g of [Buffer.from("junk"), Buffer.alloc(0), Buffer.alloc(3000, 0xff)]) await send(peer, g);
    await send(spoofer, answer(fake));
    await send(peer, answer({ ...fake, cable_name: "someone-else" }));
    await until("the counters", () => ga.nat.counters.malformed >= 2 && ga.nat.counters.wrongSource === 1 && ga.nat.counters.unexpected === 1);
    assert.equal(ga.nat.decision("c4"), undefined);
    await send(peer, answer(fake));
    await until("the decision", () => Boolean(ga.nat.decision("c4")));
    assert.deepEqual(ga.nat.decision("c4"), { usingIP: "127.0.0.45", useNAT: false, how: "private" });
  });

  it("remotes tracked before the socket is bound are asked as soon as it is (no request counted as sent meanwhile)", async () => {
    const a = ep("c1", "127.0.0.91", 24991);
    const b = ep("c2", "127.0.0.92", 24992);
    const gb = await gateway(b, "127.0.0.92");
    gb.nat.track([a]);
    // A slow check loop: only the bind itself can trigger the first request in time.
    const nat = new NatDiscovery({ port: 24991, bindAddress: "127.0.0.91", log, sourceFor: async () => "127.0.0.91", tickMs: 10_000, resendMs: 10_000 });
    open.push(nat);
    nat.setLocal(a);
    nat.track([b]);
    assert.equal(nat.counters.requestsSent, 0);
    nat.start(() => {});
    await until("the answer", () => Boolean(nat.decision("c2")), 2000);
    assert.deepEqual(nat.decision("c2"), { usingIP: "127.0.0.92", useNAT: false, how: "private" });
  });

  it("takingOver: a remote met for the first time uses the configured address while discovery asks, then the answer", async () => {
    const a = ep("c1", "127.0.0.93", 24993);
    const b = ep("c2", "127.0.0.94", 24994, { public_ip: "127.0.0.95", nat_enabled: true });
    const ga = await gateway(a, "127.0.0.93");
    ga.nat.track([b], true);
    assert.deepEqual(ga.nat.decision("c2"), { usingIP: "127.0.0.95", useNAT: true, how: "fallback" }, "configuration stands in at once");
    await gateway(b, "127.0.0.94");
    await until("the private answer", () => ga.nat.decision("c2")?.how === "private");
    assert.deepEqual(ga.nat.decision("c2"), { usingIP: "127.0.0.94", useNAT: false, how: "private" });
  });

  it("stopped before its socket was bound, it closes it; the next instance on the port binds (a leader pausing and leading again)", async () => {
    const first = new NatDiscovery({ port: 24952, bindAddress: "127.0.0.53", log, sourceFor: async () => undefined, tickMs: 50 });
    first.start(() => {});
    first.stop();
    const next = new NatDiscovery({ port: 24952, bindAddress: "127.0.0.53", log, sourceFor: async () => undefined, tickMs: 50 });
    open.push(next);
    // At once, as a new engine does: the port may still be closing.
    next.start(() => {});
    await until("the next instance bound the port", () => next.boundPort === 24952, 3000);
    assert.equal(first.boundPort, 0, "the stopped one never took it");
  });

  it("a port that is taken does not crash: decisions come from configuration", async () => {
    const holder = createSocket("udp4");
    open.push(holder);
    await new Promise<void>((r) => holder.bind(24951, "0.0.0.0", r));
    const nat = new NatDiscovery({ port: 24951, log, sourceFor: async () => undefined, tickMs: 50 });
    open.push(nat);
    nat.start(() => {});
    nat.setLocal(ep("c1", "127.0.0.51", 24951));
    await new Promise((r) => setTimeout(r, 100));
    nat.track([ep("c2", "127.0.0.52", 4490)]);
    await until("the fallback", () => Boolean(nat.decision("c2")));
    assert.equal(nat.decision("c2")?.how, "fallback");
  });
});
