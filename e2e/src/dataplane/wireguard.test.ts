/**
 * Lab e2e, WireGuard cables on the real kernel (wireguard-go where the kernel has no module):
 * 3 clusters, c2's gateway behind a NAT router, underlay MTU 1400. Needs root, wg and wireguard-go.
 */
import assert from "node:assert/strict";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Endpoint } from "@causeway/api";
import { host, ProcessRunner } from "@causeway/common";
import { BrokerConnection } from "@causeway/common/broker-client";
import { alive, failGateway, Lab, Probes, recoverGateway, REPO_ROOT, until } from "@causeway/lab";
import { assertPodReaches } from "./checks.ts";

const root = process.getuid?.() === 0;
const ready = root && host.onPath("wg") && host.onPath("wireguard-go");
const NAME = "cwwg";
const MTU = 1400;
const run = new ProcessRunner(60_000);

/** Per-namespace IP fragmentation and ICMP destination-unreachable counters (/proc/net/snmp is per namespace). */
async function fragCounters(lab: Lab): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const names = (await run.run("ip", ["netns", "list"])).stdout
    .split("\n")
    .map((l) => l.split(" ")[0] ?? "")
    .filter((n) => n.startsWith(`${lab.state.name}-`));
  for (const ns of names) {
    const text = (await run.run("ip", ["netns", "exec", ns, "cat", "/proc/net/snmp"])).stdout;
    const rows = text.split("\n").map((l) => l.split(/\s+/));
    for (const proto of ["Ip:", "Icmp:"]) {
      const [head, vals] = rows.filter((r) => r[0] === proto);
      head?.forEach((k, i) => {
        if (/^(Frag|Reasm)/.test(k) || k === "OutDestUnreachs") out.set(`${ns} ${k}`, Number(vals?.[i] ?? 0));
      });
    }
  }
  return out;
}

const grew = (before: Map<string, number>, after: Map<string, number>) =>
  [...after].filter(([k, v]) => v > (before.get(k) ?? 0) && !/(ReasmTimeout|ReasmFails)$/.test(k)).map(([k, v]) => `${k} +${v - (before.get(k) ?? 0)}`);

describe("dataplane: WireGuard, 3 clusters, c2 behind NAT, underlay MTU 1400", { skip: ready ? false : "needs root, wireguard-tools and wireguard-go" }, () => {
  let lab: Lab;
  before(async () => {
    await Lab.down(NAME);
    lab = await Lab.up({ name: NAME, clusters: 3, nodes: 2, cable: "wireguard", nat: ["c2"], mtu: MTU });
    await lab.waitConnected(60_000);
  });
  after(async () => {
    await Lab.down(NAME);
    rmSync("/tmp/cwwg-capture.pcap", { force: true });
  });

  const show = async () => {
    const r = await run.run(process.execPath, [join(REPO_ROOT, "cli/src/main.ts"), "show", "connections", "--lab", NAME]);
    return r.stdout;
  };

  it("show connections: each cable's IP and NAT decision from NAT discovery (c2 is reached at its router's address)", async () => {
    const text = await show();
    const row = (cluster: string, remote: string) => {
      const block = text.split(`Cluster "${cluster}"`)[1]?.split("Cluster ")[0] ?? "";
      return block.split("\n").find((l) => new RegExp(`^\\S+\\s+${remote}\\s`).test(l)) ?? "";
    };
    assert.match(row("c1", "c2"), /198\.18\.2\.10\s+yes\s+wireguard\s.*connected/);
    assert.match(row("c3", "c2"), /198\.18\.2\.10\s+yes\s+wireguard\s.*connected/);
    // c2 → c1: c1's private address answers, but c2's requests arrive translated by its router.
    assert.match(row("c2", "c1"), /198\.18\.1\.10\s+yes\s+wireguard\s.*connected/);
    assert.match(row("c1", "c3"), /198\.18\.3\.10\s+no\s+wireguard\s.*connected/);
  });

  for (const [from, to] of [
    ["c1/n1/p0", "c2/n1/p0"],
    ["c2/n1/p0", "c1/n1/p0"],
    ["c2/n1/p0", "c3/n1/p0"],
    ["c3/n1/p0", "c1/n1/p0"],
  ] as const) {
    it(`ICMP and TCP ${from} → ${to} (non-gateway nodes), source IP preserved`, async () => {
      await assertPodReaches(lab, from, to);
    });
  }

  it("a capture on the underlay during a transfer sees only UDP 4500 between gateways: no cleartext, no pod IPs", async () => {
    const file = "/tmp/cwwg-capture.pcap";
    const gateways = new Set(["198.18.1.10", "198.18.2.10", "198.18.3.10"]);
    // Everything on the underlay switch but the broker's and ARP/IPv6 link chatter.
    const capture = run.run(
      "ip",
      ["netns", "exec", `${NAME}-ul`, "timeout", "15", "tcpdump", "-i", "br0", "-n", "-s", "0", "-c", "4000", "-w", file, "ip and not host 198.18.0.2"],
      { allowFailure: true, timeoutMs: 30_000 },
    );
    await new Promise((r) => setTimeout(r, 1000));
    const got = await lab.exec("c1/n1/p0", [process.execPath, "lab/src/tools/fetch.ts", "--url", "http://10.2.1.10:8081/bytes/5000000", "--expect", "5000000"]);
    assert.equal(got.exitCode, 0, got.stdout);
    await run.run("ip", ["netns", "exec", `${NAME}-ul`, "pkill", "-INT", "-f", `tcpdump -i br0 -n -s 0 -c 4000 -w ${file}`], { allowFailure: true });
    await capture;
    const lines = (await run.run("tcpdump", ["-n", "-r", file], { allowFailure: true })).stdout.split("\n").filter(Boolean);
    assert.ok(lines.length > 20, `captured ${lines.length} packets`);
    for (const l of lines) {
      const m =
        /IP (\d+\.\d+\.\d+\.\d+)\.(\d+) > (\d+\.\d+\.\d+\.\d+)\.(\d+): (UDP|udp)/i.exec(l) ??
        /IP (\d+\.\d+\.\d+\.\d+)\.(\d+) > (\d+\.\d+\.\d+\.\d+)\.(\d+): UDP-encap/.exec(l);
      assert.ok(m, `not UDP: ${l}`);
      const [, src, sport, dst, dport] = m;
      assert.ok(gateways.has(src ?? "") && gateways.has(dst ?? ""), `not between gateways: ${l}`);
      assert.ok(sport === "4500" || dport === "4500" || sport === "4490" || dport === "4490", `not the cable or discovery port: ${l}`);
    }
    const raw = readFileSync(file);
    assert.equal(raw.includes("CAUSEWAY-CLEARTEXT"), false, "cleartext payload on the underlay");
    for (const pod of ["10.1.1.10", "10.2.1.10"]) {
      assert.equal(raw.includes(Buffer.from(pod.split(".").map(Number))), false, `pod IP ${pod} on the underlay`);
    }
  });

  it("100 MB over HTTP and an iperf3 run across clusters at underlay MTU 1400: nothing fragmented, no ICMP needed", async () => {
    const before = await fragCounters(lab);
    const got = await lab.exec(
      "c1/n1/p0",
      [process.execPath, "lab/src/tools/fetch.ts", "--url", "http://10.2.1.10:8081/bytes/104857600", "--expect", "104857600", "--timeout", "150000"],
      180_000,
    );
    assert.equal(got.exitCode, 0, got.stdout);
    await lab.exec("c3/n1/p0", ["iperf3", "-s", "-D", "-1", "-p", "5299"]);
    await new Promise((r) => setTimeout(r, 300));
    const perf = await lab.exec("c2/n1/p0", ["iperf3", "-c", "10.3.1.10", "-p", "5299", "-t", "3", "-J"], 30_000);
    const j = JSON.parse(perf.stdout) as { end?: { sum_received?: { bytes: number } }; error?: string };
    assert.ok((j.end?.sum_received?.bytes ?? 0) > 0, j.error ?? perf.stderr);
    const after = await fragCounters(lab);
    assert.deepEqual(grew(before, after), []);
  });

  it("a gateway whose device is gone starts with a new key and reconnects without touching the other side", async () => {
    const admin = lab.admin();
    const keyOf = async () => {
      const { records } = await admin.list("endpoint");
      const ep = records.map((r) => JSON.parse(r.valueJson) as Endpoint).find((e) => e.cluster_id === "c2");
      return ep?.backend_config.publicKey;
    };
    try {
      const old = await keyOf();
      // Stopped (a lone gateway keeps its device), then its device removed: the next start has nothing to adopt.
      const gw = lab.cluster("c2").processes.find((p) => p.role === "gateway/n0");
      assert.ok(gw);
      process.kill(gw.pid, "SIGTERM");
      await until("c2's gateway stopped", async () => (alive(gw.pid) ? undefined : true), 10_000);
      await lab.exec("c2/n0", ["ip", "link", "del", lab.cluster("c2").spec.nodes[0]?.wgInterface ?? ""]);
      await lab.restart("c2", "gateway/n0");
      const fresh = await until("a new key in c2's endpoint", async () => {
        const k = await keyOf();
        return k && k !== old ? k : undefined;
      });
      assert.notEqual(fresh, old);
      await lab.waitConnected(60_000);
      await assertPodReaches(lab, "c1/n1/p0", "c2/n1/p0");
      await assertPodReaches(lab, "c2/n1/p0", "c3/n1/p0");
      const peers = (await lab.exec("c1/n0", ["wg", "show", `${NAME}c1n0`, "peers"])).stdout;
      assert.ok(peers.includes(fresh ?? "?") && !peers.includes(old ?? "?"), peers);
    } finally {
      admin.close();
    }
  });

  it("bad input from the broker: an endpoint whose key is not a WireGuard key errors that cable only; nothing crashes", async () => {
    const admin = lab.admin();
    const cluster = { cluster_id: "c9", cluster_cidr: ["10.9.0.0/16"], service_cidr: ["10.109.0.0/16"], global_cidr: [] };
    try {
      const { token } = await admin.join(cluster);
      const c9 = new BrokerConnection({ address: lab.state.broker.socket, token });
      try {
        const ep: Endpoint = {
          cluster_id: "c9",
          cable_name: "causeway-cable-c9-198-18-9-10",
          healthCheckIP: "",
          hostname: "n0",
          subnets: ["10.109.0.0/16", "10.9.0.0/16"],
          private_ip: "198.18.9.10",
          public_ip: "",
          nat_enabled: false,
          backend: "wireguard",
          backend_config: { "udp-port": "4500", "natt-discovery-port": "0", publicKey: "bm90LWEta2V5" },
        };
        await c9.put("endpoint", "c9", ep.cable_name, ep);
        const row = await until("c1 reports the c9 cable's error", async () => {
          const line = (await show()).split("\n").find((l) => /\sc9\s/.test(l) && l.includes("error"));
          return line;
        });
        assert.match(row, /c9/);
        const status = (await admin.list("gateway")).records.find((r) => r.clusterId === "c1");
        const conn = (JSON.parse(status?.valueJson ?? "{}") as { connections?: { endpoint: Endpoint; statusMessage: string }[] }).connections?.find(
          (c) => c.endpoint.cluster_id === "c9",
        );
        assert.match(conn?.statusMessage ?? "", /not a WireGuard key/);
        // Garbage and stray "answers" at c2's NAT discovery port (through its router) are dropped, not fatal.
        const junk = [
          "const s = require('node:dgram').createSocket('udp4');",
          "const msgs = [Buffer.from('junk'), Buffer.alloc(0), Buffer.alloc(3000, 255), Buffer.from([0x1a, 0x05, 0x08, 0x01, 0x10, 0x01])];",
          "let n = 0; for (const m of msgs) s.send(m, 4490, '198.18.2.10', () => { if (++n === msgs.length) s.close(); });",
        ].join(" ");
        const sent = await lab.exec("c1/n0", [process.execPath, "-e", junk]);
        assert.equal(sent.exitCode, 0, sent.stderr);
        await new Promise((r) => setTimeout(r, 500));
        await assertPodReaches(lab, "c1/n1/p0", "c2/n1/p0");
        assert.ok(
          lab.processStatus().every((p) => p.alive),
          "every process still runs",
        );
      } finally {
        c9.close();
      }
    } finally {
      await admin.leave("c9");
      admin.close();
    }
  });

  it("c1's gateway killed (-9) and started again: it adopts its WireGuard device and key, the peers keep their sessions, the data path loses nothing", async () => {
    const keyOf = async () => (await lab.exec("c1/n0", ["wg", "show", lab.cluster("c1").spec.nodes[0]?.wgInterface ?? "", "public-key"])).stdout.trim();
    const before = await keyOf();
    const probes = new Probes(lab, [
      ["c1/n1/p0", "c3/n1/p0"],
      ["c3/n1/p0", "c1/n1/p0"],
    ]);
    try {
      await probes.answering();
      await new Promise((r) => setTimeout(r, 1000));
      await failGateway(lab, "c1", "n0", "kill");
      await recoverGateway(lab, "c1", "n0", "kill");
      await lab.waitConnected(30_000);
      await new Promise((r) => setTimeout(r, 2000));
      const results = await probes.stop();
      for (const [dir, r] of Object.entries(results)) assert.deepEqual(r.outages, [], `${dir}: ${JSON.stringify(r)}`);
      assert.equal(await keyOf(), before, "the restarted gateway kept the device's key");
    } finally {
      await probes.stop().catch(() => undefined);
    }
  });
});
