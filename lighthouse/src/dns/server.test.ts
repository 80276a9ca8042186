import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { connect } from "node:net";
import { after, before, describe, it } from "node:test";
import dnsPacket from "dns-packet";
import { silentLogger } from "@causeway/common";
import { type ImportedService, StaticDnsSource } from "./model.ts";
import { Resolver } from "./resolver.ts";
import { answerMessage, DnsServer } from "./server.ts";

const many: ImportedService = {
  namespace: "big",
  name: "many",
  type: "Headless",
  clusters: [
    { clusterId: "c2", ports: [], endpoints: Array.from({ length: 60 }, (_, i) => ({ ip: `10.2.${i >> 8}.${i & 255}`, ready: true, hostname: `pod-${i}` })) },
  ],
};
const nginx: ImportedService = {
  namespace: "test",
  name: "nginx",
  type: "ClusterSetIP",
  clusters: [{ clusterId: "c2", ip: "10.102.0.5", ports: [{ name: "http", protocol: "TCP", port: 80 }], endpoints: [{ ip: "10.2.1.5", ready: true }] }],
};
const resolver = new Resolver(new StaticDnsSource("c1", [nginx, many]));

const RCODES = ["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"];
/** A decoded response with its rcode (dns-packet's typings leave it out). */
const decode = (b: Buffer | undefined) => {
  const buf = b ?? Buffer.alloc(0);
  return { ...dnsPacket.decode(buf), rcode: RCODES[buf.readUInt16BE(2) & 0xf] };
};
const opt = (udpPayloadSize: number) => ({ type: "OPT", name: ".", udpPayloadSize }) as unknown as dnsPacket.Answer;

const query = (name: string, type: dnsPacket.RecordType = "A", extra: Partial<dnsPacket.Packet> = {}) =>
  dnsPacket.encode({ type: "query", id: 4242, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name, class: "IN" }], ...extra });

function udpAsk(port: number, msg: Buffer, host = "127.0.0.1"): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = createSocket("udp4");
    const t = setTimeout(() => {
      s.close();
      reject(new Error("no UDP answer"));
    }, 2000);
    s.once("message", (m) => {
      clearTimeout(t);
      s.close();
      resolve(m);
    });
    // Connected: like a stub resolver, it takes answers from the address it asked only.
    s.connect(port, host, () => s.send(msg));
  });
}

function tcpAsk(port: number, msgs: Buffer[]): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const out: Buffer[] = [];
    let buf = Buffer.alloc(0);
    const c = connect(port, "127.0.0.1", () => {
      for (const m of msgs) {
        const len = Buffer.alloc(2);
        len.writeUInt16BE(m.length);
        c.write(Buffer.concat([len, m]));
      }
    });
    c.on("data", (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        out.push(buf.subarray(2, 2 + buf.readUInt16BE(0)));
        buf = buf.subarray(2 + buf.readUInt16BE(0));
      }
      if (out.length === msgs.length) {
        c.end();
        resolve(out);
      }
    });
    c.on("error", reject);
  });
}

describe("DNS wire format and server", () => {
  let server: DnsServer;
  before(async () => {
    server = await DnsServer.start({ port: 0, host: "127.0.0.1", resolver, log: silentLogger() });
  });
  after(async () => server?.close());

  it("answers over UDP: id, flags, question echoed, authoritative A with TTL 5; names compressed", async () => {
    const res = decode(await udpAsk(server.port, query("nginx.test.svc.clusterset.local")));
    assert.equal(res.id, 4242);
    assert.equal(res.rcode, "NOERROR");
    assert.equal(res.flag_aa, true);
    assert.equal(res.flag_rd, true);
    assert.deepEqual(res.questions, [{ name: "nginx.test.svc.clusterset.local", type: "A", class: "IN" }]);
    assert.deepEqual(
      res.answers?.map((a) => [a.name, a.type, (a as dnsPacket.StringAnswer).ttl, (a as dnsPacket.StringAnswer).data]),
      [["nginx.test.svc.clusterset.local", "A", 5, "10.102.0.5"]],
    );
    const raw = answerMessage(resolver, query("nginx.test.svc.clusterset.local"), "udp");
    // Header 12 + question (33-byte name + 4) + answer (2-byte pointer + 10 + 4).
    assert.equal(raw?.length, 12 + 37 + 16, "the answer's name is a pointer to the question's");
  });

  it("NXDOMAIN and NODATA carry the zone's SOA; other zones are REFUSED", async () => {
    const nx = decode(await udpAsk(server.port, query("nope.test.svc.clusterset.local")));
    assert.equal(nx.rcode, "NXDOMAIN");
    assert.equal(nx.authorities?.[0]?.type, "SOA");
    const nodata = decode(await udpAsk(server.port, query("nginx.test.svc.clusterset.local", "AAAA")));
    assert.equal(nodata.rcode, "NOERROR");
    assert.equal(nodata.answers?.length, 0);
    assert.equal(decode(await udpAsk(server.port, query("example.com"))).rcode, "REFUSED");
  });

  it("a large answer is truncated over UDP (TC) and whole over TCP, several queries per connection", async () => {
    const name = "many.big.svc.clusterset.local";
    const udp = decode(await udpAsk(server.port, query(name)));
    assert.equal(udp.flag_tc, true);
    assert.equal(udp.answers?.length, 0);
    const edns = await udpAsk(server.port, query(name, "A", { additionals: [opt(4096)] }));
    assert.ok(edns.length <= 1232);
    assert.equal(decode(edns).flag_tc, false, "60 A records fit in 1232 bytes with compression");
    const [a, srv, txt] = await tcpAsk(server.port, [query(name), query(name, "SRV"), query("dns-version.clusterset.local", "TXT")]);
    assert.equal(decode(a ?? Buffer.alloc(0)).answers?.length, 60);
    assert.equal(decode(srv ?? Buffer.alloc(0)).rcode, "NOERROR");
    const t = decode(txt ?? Buffer.alloc(0)).answers?.[0];
    assert.deepEqual(t?.type === "TXT" ? [t.data].flat().map(String) : [], ["1.0.0"]);
  });

  it("bad packets: short ones and responses get no answer, garbage FORMERR, other opcodes NOTIMP, CHAOS REFUSED", () => {
    assert.equal(answerMessage(resolver, Buffer.from([1, 2, 3]), "udp"), undefined);
    assert.equal(answerMessage(resolver, dnsPacket.encode({ type: "response", id: 1, questions: [] }), "udp"), undefined);
    const garbage = Buffer.concat([Buffer.from([0x12, 0x34, 0x01, 0x00, 0x00, 0x05, 0, 0, 0, 0, 0, 0]), Buffer.from("\x3fzzz")]);
    const formerr = decode(answerMessage(resolver, garbage, "udp") ?? Buffer.alloc(0));
    assert.equal(formerr.id, 0x1234);
    assert.equal(formerr.rcode, "FORMERR");
    const notify = query("clusterset.local", "SOA");
    notify.writeUInt16BE((4 << 11) | 0x0100, 2);
    assert.equal(decode(answerMessage(resolver, notify, "udp") ?? Buffer.alloc(0)).rcode, "NOTIMP");
    const chaos = dnsPacket.encode({ type: "query", id: 7, questions: [{ type: "TXT", name: "version.bind", class: "CH" }] });
    assert.equal(decode(answerMessage(resolver, chaos, "udp") ?? Buffer.alloc(0)).rcode, "REFUSED");
  });

  it("fuzz: 20,000 random and mutated packets never crash the server, and every answer decodes", async () => {
    let seed = 42;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    const seeds = [query("nginx.test.svc.clusterset.local"), query("many.big.svc.clusterset.local", "SRV"), query("x", "A", { additionals: [opt(1232)] })];
    let answered = 0;
    for (let i = 0; i < 20_000; i++) {
      let msg: Buffer;
      if (i % 2) {
        msg = Buffer.from(Array.from({ length: Math.floor(rand() * 80) }, () => Math.floor(rand() * 256)));
      } else {
        msg = Buffer.from(seeds[i % seeds.length] ?? Buffer.alloc(0));
        for (let k = 0; k < 1 + Math.floor(rand() * 6); k++) msg[Math.floor(rand() * msg.length)] = Math.floor(rand() * 256);
        if (rand() < 0.2) msg = msg.subarray(0, Math.floor(rand() * msg.length));
      }
      const out = answerMessage(resolver, msg, i % 3 ? "udp" : "tcp");
      if (out) {
        answered++;
        decode(out); // throws if we wrote something malformed
        assert.ok(out.length <= (i % 3 ? 1232 : 65535));
      }
    }
    assert.ok(answered > 5000, `answered ${answered}`);
    // And the live server still answers after a burst of garbage over both transports.
    for (let i = 0; i < 200; i++) udpAskNoWait(server.port, Buffer.from(Array.from({ length: 30 }, () => Math.floor(rand() * 256))));
    // A frame that announces 65535 bytes and sends 2: held until idle, never answered.
    const half = connect(server.port, "127.0.0.1", () => half.write(Buffer.from([0xff, 0xff, 0, 0])));
    half.on("error", () => undefined);
    setTimeout(() => half.destroy(), 200);
    assert.equal(decode(await udpAsk(server.port, query("nginx.test.svc.clusterset.local"))).answers?.length, 1);
  });
});

function udpAskNoWait(port: number, msg: Buffer): void {
  const s = createSocket("udp4");
  s.send(msg, port, "127.0.0.1", () => s.close());
}

describe("DNS server on the wildcard address", () => {
  it("answers UDP from the address each query was sent to, and follows addresses that come and go", async () => {
    const addresses = ["127.0.0.1"];
    const server = await DnsServer.start({ port: 0, resolver, log: silentLogger(), addresses: () => [...addresses], rescanMs: 50 });
    try {
      assert.deepEqual(server.udpAddresses, ["127.0.0.1"]);
      assert.equal(decode(await udpAsk(server.port, query("nginx.test.svc.clusterset.local"), "127.0.0.1")).rcode, "NOERROR");
      addresses.push("127.0.0.2");
      for (let i = 0; i < 40 && server.udpAddresses.length < 2; i++) await new Promise((r) => setTimeout(r, 25));
      const answer = decode(await udpAsk(server.port, query("nginx.test.svc.clusterset.local"), "127.0.0.2"));
      assert.deepEqual(
        answer.answers?.map((a) => (a as dnsPacket.StringAnswer).data),
        ["10.102.0.5"],
      );
      addresses.splice(0, 1);
      for (let i = 0; i < 40 && server.udpAddresses.length > 1; i++) await new Promise((r) => setTimeout(r, 25));
      assert.deepEqual(server.udpAddresses, ["127.0.0.2"]);
    } finally {
      await server.close();
    }
  });
});

describe("DNS server answer cache", () => {
  it("repeats answers with the asker's id, drops them when the source changes, and never pins a round-robin answer", async () => {
    const rr: ImportedService = {
      namespace: "test",
      name: "rr",
      type: "ClusterSetIP",
      clusters: ["c2", "c3"].map((c) => ({ clusterId: c, ip: `10.10${c[1]}.0.9`, ports: [], endpoints: [{ ip: "10.9.9.9", ready: true }] })),
    };
    const src = new StaticDnsSource("c1", [nginx, rr]);
    const server = await DnsServer.start({ port: 0, host: "127.0.0.1", resolver: new Resolver(src), log: silentLogger() });
    const ask = async (name: string, id: number) => {
      const q = dnsPacket.encode({ type: "query", id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: "A", name, class: "IN" }] });
      const res = decode(await udpAsk(server.port, q));
      return { id: res.id, ips: res.answers?.map((a) => (a as dnsPacket.StringAnswer).data) };
    };
    try {
      assert.deepEqual(await ask("nginx.test.svc.clusterset.local", 1), { id: 1, ips: ["10.102.0.5"] });
      assert.deepEqual(await ask("nginx.test.svc.clusterset.local", 2), { id: 2, ips: ["10.102.0.5"] });
      src.set({ ...nginx, clusters: [{ ...nginx.clusters[0]!, ip: "10.102.0.6" }] });
      assert.deepEqual(await ask("nginx.test.svc.clusterset.local", 3), { id: 3, ips: ["10.102.0.6"] });
      const seen = new Set<string>();
      for (let i = 0; i < 4; i++) for (const ip of (await ask("rr.test.svc.clusterset.local", 10 + i)).ips ?? []) seen.add(ip);
      assert.deepEqual([...seen].sort(), ["10.102.0.9", "10.103.0.9"]);
    } finally {
      await server.close();
    }
  });
});
