import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type ImportedService, StaticDnsSource } from "./model.ts";
import { Resolver } from "./resolver.ts";

const ep = (ip: string, ready = true, hostname?: string) => ({ ip, ready, ...(hostname ? { hostname } : {}) });
const http = [{ name: "http", protocol: "TCP" as const, port: 80 }];
const nginx = (clusters: Record<string, { ip: string; ready: boolean }>): ImportedService => ({
  namespace: "test",
  name: "nginx",
  type: "ClusterSetIP",
  clusters: Object.entries(clusters).map(([clusterId, c]) => ({ clusterId, ip: c.ip, ports: http, endpoints: [ep(`${c.ip}9`, c.ready)] })),
});
const Q = "nginx.test.svc.clusterset.local";
const ips = (r: Resolver, name = Q, type = "A") => r.resolve({ name, type }).answers.map((a) => a.data);

describe("clusterset DNS resolver", () => {
  it("a remote service resolves to the exporting cluster's IP; local and remote → local", () => {
    const src = new StaticDnsSource("c1", [nginx({ c2: { ip: "10.102.0.5", ready: true } })]);
    const r = new Resolver(src);
    assert.deepEqual(ips(r), ["10.102.0.5"]);
    src.set(nginx({ c1: { ip: "10.101.0.5", ready: true }, c2: { ip: "10.102.0.5", ready: true } }));
    for (let i = 0; i < 4; i++) assert.deepEqual(ips(r), ["10.101.0.5"]);
    const a = r.resolve({ name: Q, type: "A" });
    assert.equal(a.authoritative, true);
    assert.equal(a.answers[0]?.ttl, 5);
  });

  it("active-active: local endpoints not ready → the healthy remote; a cluster whose cable is down is not answered; repeated queries round-robin", () => {
    const src = new StaticDnsSource("c1", [
      nginx({ c1: { ip: "10.101.0.5", ready: false }, c2: { ip: "10.102.0.5", ready: true }, c3: { ip: "10.103.0.5", ready: true } }),
    ]);
    const r = new Resolver(src);
    const seen = [ips(r)[0], ips(r)[0], ips(r)[0], ips(r)[0]];
    assert.deepEqual(seen, ["10.102.0.5", "10.103.0.5", "10.102.0.5", "10.103.0.5"]);
    src.setDown("c3", true);
    assert.deepEqual([ips(r)[0], ips(r)[0]], ["10.102.0.5", "10.102.0.5"]);
    // A named cluster is answered even when unhealthy.
    assert.deepEqual(ips(r, `c3.${Q}`), ["10.103.0.5"]);
    assert.deepEqual(ips(r, `c1.${Q}`), ["10.101.0.5"]);
  });

  it("no ready endpoints anywhere → NODATA; unknown service, cluster or form → NXDOMAIN; AAAA → NODATA; other zones → REFUSED", () => {
    const r = new Resolver(new StaticDnsSource("c1", [nginx({ c2: { ip: "10.102.0.5", ready: false } })]));
    const code = (name: string, type = "A") => r.resolve({ name, type }).rcode;
    const nodata = r.resolve({ name: Q, type: "A" });
    assert.equal(nodata.rcode, "NOERROR");
    assert.equal(nodata.answers.length, 0);
    assert.equal(nodata.authority[0]?.type, "SOA");
    assert.equal(code("other.test.svc.clusterset.local"), "NXDOMAIN");
    assert.equal(code(`c9.${Q}`), "NXDOMAIN");
    assert.equal(code("a.b.c.d.nginx.test.svc.clusterset.local"), "NXDOMAIN");
    assert.equal(code("nginx.test.pod.clusterset.local"), "NXDOMAIN");
    assert.equal(code(Q, "AAAA"), "NOERROR");
    assert.equal(code(Q, "MX"), "NOERROR");
    assert.equal(code(Q, "UNKNOWN_65280"), "NOERROR");
    assert.equal(code("example.com"), "REFUSED");
    assert.equal(code(`${"a".repeat(64)}.${Q}`), "NXDOMAIN");
    assert.equal(code(`${"a.".repeat(130)}${Q}`), "NXDOMAIN");
  });

  it("dns-version TXT 1.0.0; SOA at the apex; custom domains", () => {
    const r = new Resolver(new StaticDnsSource("c1", [nginx({ c1: { ip: "10.101.0.5", ready: true } })]), {
      zones: ["clusterset.local", "example.internal"],
      ttl: 30,
    });
    assert.deepEqual(r.resolve({ name: "dns-version.clusterset.local", type: "TXT" }).answers[0]?.data, ["1.0.0"]);
    assert.equal(r.resolve({ name: "clusterset.local", type: "SOA" }).answers[0]?.type, "SOA");
    const custom = r.resolve({ name: "nginx.test.svc.example.internal.", type: "A" });
    assert.deepEqual(
      custom.answers.map((a) => [a.data, a.ttl]),
      [["10.101.0.5", 30]],
    );
  });

  it("SRV: per port to the service name (or the named cluster's); _port._proto filters", () => {
    const svc: ImportedService = {
      namespace: "test",
      name: "web",
      type: "ClusterSetIP",
      clusters: [
        {
          clusterId: "c2",
          ip: "10.102.0.7",
          ports: [
            { name: "http", protocol: "TCP", port: 80 },
            { name: "dns", protocol: "UDP", port: 53 },
          ],
          endpoints: [ep("10.2.1.5")],
        },
      ],
    };
    const r = new Resolver(new StaticDnsSource("c1", [svc]));
    const srv = (name: string) => r.resolve({ name, type: "SRV" }).answers.map((a) => a.data);
    assert.deepEqual(srv("web.test.svc.clusterset.local"), [
      { priority: 0, weight: 50, port: 80, target: "web.test.svc.clusterset.local" },
      { priority: 0, weight: 50, port: 53, target: "web.test.svc.clusterset.local" },
    ]);
    assert.deepEqual(srv("_dns._udp.web.test.svc.clusterset.local"), [{ priority: 0, weight: 50, port: 53, target: "web.test.svc.clusterset.local" }]);
    assert.deepEqual(srv("_http._tcp.c2.web.test.svc.clusterset.local"), [{ priority: 0, weight: 50, port: 80, target: "c2.web.test.svc.clusterset.local" }]);
    assert.equal(r.resolve({ name: "_http._tcp.web.test.svc.clusterset.local", type: "A" }).answers.length, 0);
  });

  it("headless: ready pod IPs of connected clusters, per cluster and per host; SRV per endpoint and port; PTR", () => {
    const src = new StaticDnsSource("c1", [
      {
        namespace: "db",
        name: "pg",
        type: "Headless",
        clusters: [
          { clusterId: "c1", ports: [{ name: "pg", protocol: "TCP", port: 5432 }], endpoints: [ep("10.1.1.5", true, "pg-0"), ep("10.1.1.6", false, "pg-1")] },
          { clusterId: "c2", ports: [{ name: "pg", protocol: "TCP", port: 5432 }], endpoints: [ep("10.2.1.5", true, "pg-0")] },
        ],
      },
    ]);
    const r = new Resolver(src);
    const H = "pg.db.svc.clusterset.local";
    assert.deepEqual(ips(r, H), ["10.1.1.5", "10.2.1.5"]);
    assert.deepEqual(ips(r, `c2.${H}`), ["10.2.1.5"]);
    assert.deepEqual(ips(r, `pg-0.c1.${H}`), ["10.1.1.5"]);
    assert.equal(r.resolve({ name: `pg-9.c1.${H}`, type: "A" }).rcode, "NXDOMAIN");
    assert.equal(r.resolve({ name: `pg-0.${H}`, type: "A" }).rcode, "NXDOMAIN", "a host needs its cluster");
    assert.deepEqual(
      r.resolve({ name: H, type: "SRV" }).answers.map((a) => (a.type === "SRV" ? a.data.target : "")),
      [`pg-0.c1.${H}`, `pg-0.c2.${H}`],
    );
    src.setDown("c2", true);
    assert.deepEqual(ips(r, H), ["10.1.1.5"]);
    assert.deepEqual(ips(r, "5.1.2.10.in-addr.arpa", "PTR"), [`pg-0.c2.${H}`]);
    assert.equal(r.resolve({ name: "9.9.9.10.in-addr.arpa", type: "PTR" }).rcode, "REFUSED");
  });

  it("a clusterset IP, when allocated, is the answer — with no ready endpoint too; SRV: the import's ports, one record each, to the service name", () => {
    const ports = [
      { name: "http", protocol: "TCP" as const, port: 80 },
      { name: "metrics", protocol: "TCP" as const, port: 9090 },
    ];
    const src = new StaticDnsSource("c1", [{ ...nginx({ c2: { ip: "10.102.0.5", ready: true } }), ips: ["242.0.0.9"], ports }]);
    const r = new Resolver(src);
    assert.deepEqual(ips(r), ["242.0.0.9"]);
    assert.deepEqual(ips(r, `c2.${Q}`), ["10.102.0.5"], "a named cluster keeps its own IP");
    assert.deepEqual(ips(r, Q, "AAAA"), [], "IPv4 only: no AAAA");
    const srv = (name: string) => r.resolve({ name, type: "SRV" }).answers.map((a) => a.data);
    assert.deepEqual(srv(Q), [
      { priority: 0, weight: 50, port: 80, target: Q },
      { priority: 0, weight: 50, port: 9090, target: Q },
    ]);
    assert.deepEqual(srv(`_metrics._tcp.${Q}`), [{ priority: 0, weight: 50, port: 9090, target: Q }]);
    src.set({ ...nginx({ c2: { ip: "10.102.0.5", ready: false } }), ips: ["242.0.0.9"], ports });
    assert.deepEqual(ips(r), ["242.0.0.9"]);
    assert.equal(srv(Q).length, 2);
    assert.deepEqual(ips(r, "9.0.0.242.in-addr.arpa", "PTR"), [Q]);
  });
});
