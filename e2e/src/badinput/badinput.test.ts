/**
 * Bad input through the real mains, on the real kernel: each gets a clear error (exit 2) and
 * leaves no host state; a broker that is down at start is retried with backoff, and the agent
 * catches up once it is back. Each case runs in a fresh network namespace. Needs root.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ProcessRunner, silentLogger } from "@causeway/common";
import { BrokerConnection } from "@causeway/common/broker-client";
import { startBroker } from "@causeway/broker";
import { stringify as toYaml } from "yaml";
import { REPO_ROOT, until } from "@causeway/lab";

const root = process.getuid?.() === 0;
const NS = `cwbad-${process.pid}`;
const NODE_IP = "198.19.77.11";
const run = new ProcessRunner(30_000);
const node = process.execPath;
const ROUTE_AGENT = join(REPO_ROOT, "route-agent/src/main.ts");
const GATEWAY = join(REPO_ROOT, "gateway/src/main.ts");

const goodSite = (dir: string, broker = "unix:///nonexistent/broker.sock") => ({
  clusterId: "c7",
  clusterCIDRs: ["10.7.0.0/16"],
  serviceCIDRs: ["10.107.0.0/16"],
  broker: { address: broker, tokenFile: join(dir, "token") },
  nodes: [
    { name: "n0", ip: "198.19.77.10", podCIDR: "10.7.0.0/24", gateway: true },
    { name: "n1", ip: NODE_IP, podCIDR: "10.7.1.0/24" },
  ],
});

/** Everything Causeway could leave in a namespace, as text: empty when the host is untouched. */
async function causewayState(): Promise<string> {
  const ex = (argv: string[]) => run.run("ip", ["netns", "exec", NS, ...argv], { allowFailure: true });
  const links = (await run.run("ip", ["-n", NS, "-o", "link", "show"])).stdout.split("\n").filter((l) => /vx-|vxlan/.test(l));
  const rules = (await run.run("ip", ["-n", NS, "rule", "show"])).stdout.split("\n").filter((l) => /^(100|150):/.test(l));
  const routes = (await run.run("ip", ["-n", NS, "route", "show", "table", "all"])).stdout.split("\n").filter((l) => /table (100|150)/.test(l));
  const chains = (await ex(["iptables-save"])).stdout.split("\n").filter((l) => l.includes("CAUSEWAY"));
  const sets = (await ex(["ipset", "list", "-n"])).stdout.split("\n").filter(Boolean);
  return [...links, ...rules, ...routes, ...chains, ...sets].join("\n");
}

function inNs(argv: string[]) {
  return run.run("ip", ["netns", "exec", NS, node, ...argv], { allowFailure: true });
}

describe("bad input through the real mains", { skip: root ? false : "needs root for network namespaces" }, () => {
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "cwbad-"));
    writeFileSync(join(dir, "token"), "cwc.c7.not-a-real-secret\n");
    await run.run("ip", ["netns", "del", NS], { allowFailure: true });
    await run.run("ip", ["netns", "add", NS]);
    const batch = ["link add eth0 type veth peer name eth1", `address add ${NODE_IP}/24 dev eth0`, "link set eth0 up", "link set lo up"];
    await run.run("ip", ["-n", NS, "-batch", "-"], { input: `${batch.join("\n")}\n` });
  });
  after(async () => {
    await run.run("ip", ["netns", "del", NS], { allowFailure: true });
    rmSync(dir, { recursive: true, force: true });
  });

  const malformed: [string, string | Record<string, unknown>, RegExp][] = [
    ["not YAML", "clusterId: [unclosed", /cannot read site file .*site\.yaml/],
    ["no clusterId", { clusterId: undefined }, /invalid site file .*clusterId/],
    ["a CIDR that is not one", { clusterCIDRs: ["10.7.0.0/33"] }, /clusterCIDRs\.0: must be an IPv4 CIDR like 10\.1\.0\.0\/16/],
    ["a misspelt field", { cableDrivr: "vxlan" }, /cableDrivr/],
    ["an unknown intra-cluster mode", { intraCluster: "tunnel" }, /intraCluster: Invalid option: expected one of .*vxlan.*direct/],
    ["a pod CIDR outside the cluster CIDRs", { clusterCIDRs: ["10.8.0.0/16"] }, /10\.7\.1\.0\/24 is not inside clusterCIDRs 10\.8\.0\.0\/16/],
  ];
  for (const [what, change, expect] of malformed) {
    it(`a site file with ${what}: exit 2, the error names the problem, no host state`, async () => {
      const file = join(dir, "site.yaml");
      writeFileSync(file, typeof change === "string" ? change : toYaml({ ...goodSite(dir), ...change }));
      for (const main of [ROUTE_AGENT, GATEWAY]) {
        const r = await inNs([main, "--site", file, "--node", main === GATEWAY ? "n0" : "n1"]);
        assert.equal(r.exitCode, 2, `${main}: ${r.stdout}${r.stderr}`);
        assert.match(r.stdout + r.stderr, expect);
        assert.match(r.stdout + r.stderr, /cannot start/);
      }
      assert.equal(await causewayState(), "");
    });
  }

  it("a --node that is not in the site file: the error lists the nodes", async () => {
    const file = join(dir, "site.yaml");
    writeFileSync(file, toYaml(goodSite(dir)));
    const r = await inNs([ROUTE_AGENT, "--site", file, "--node", "n9"]);
    assert.equal(r.exitCode, 2);
    assert.match(r.stdout, /node \\"n9\\" is not in the site file; nodes are: n0, n1/);
    assert.equal(await causewayState(), "");
  });

  it("a node whose address is not on this host: refused before touching it", async () => {
    const file = join(dir, "site.yaml");
    writeFileSync(file, toYaml(goodSite(dir)));
    const r = await inNs([ROUTE_AGENT, "--site", file, "--node", "n0"]);
    assert.equal(r.exitCode, 2);
    assert.match(r.stdout, /node n0's address 198\.19\.77\.10 is on no interface of this host; check --node/);
    assert.equal(await causewayState(), "");
  });

  it("a resync period that is not a number: exit 2 from both, naming the flag", async () => {
    const file = join(dir, "site.yaml");
    writeFileSync(file, toYaml(goodSite(dir)));
    for (const [main, n] of [
      [ROUTE_AGENT, "n1"],
      [GATEWAY, "n0"],
    ] as const) {
      const r = await inNs([main, "--site", file, "--node", n, "--resync-seconds", "soon"]);
      assert.equal(r.exitCode, 2, r.stdout);
      assert.match(r.stdout, /--resync-seconds must be a number ≥ 1, got \\"soon\\"/);
    }
    assert.equal(await causewayState(), "");
  });

  it("health-check and election flags out of range: exit 2 naming the flag, no host state", async () => {
    const file = join(dir, "site.yaml");
    writeFileSync(file, toYaml({ ...goodSite(dir), nodes: [{ name: "n0", ip: NODE_IP, podCIDR: "10.7.0.0/24", gateway: true }] }));
    const cases: [string[], RegExp][] = [
      [["--health-check-interval", "0"], /--health-check-interval must be a number of seconds, at least 0.1 .*, got 0/],
      [["--health-check-interval=-1"], /--health-check-interval must be a number of seconds, at least 0.1 .*, got -1/],
      [["--health-check-interval", "soon"], /--health-check-interval must be a number of seconds, got \\"soon\\"/],
      [["--health-check-max-packet-loss-count", "0"], /--health-check-max-packet-loss-count must be a whole number ≥ 1, got 0/],
      [["--nattport", "70000"], /--nattport must be a UDP port \(1-65535\), got 70000/],
      [["--health-check-max-packet-los", "3"], /unknown flag --health-check-max-packet-los; did you mean --health-check-max-packet-loss-count\?/],
      [["--health-check", "maybe"], /--health-check must be true or false/],
      [["--lease-duration", "0"], /--lease-duration must be a positive number of seconds/],
      [["--lease-duration", "0.5"], /renew deadline \(750 ms\) must be shorter than the lease duration \(500 ms\)/],
      [["--metrics-port", "70000"], /--metrics-port must be a TCP port, or 0 for none/],
    ];
    for (const [flags, expect] of cases) {
      const r = await inNs([GATEWAY, "--site", file, "--node", "n0", ...flags]);
      assert.equal(r.exitCode, 2, `${flags.join(" ")}: ${r.stdout}`);
      assert.match(r.stdout, expect, flags.join(" "));
    }
    assert.equal(await causewayState(), "");
  });

  it("an unknown cable driver: exit 2, the error lists the supported ones, no host state", async () => {
    const file = join(dir, "site.yaml");
    writeFileSync(file, toYaml({ ...goodSite(dir), cableDriver: "ipsec", nodes: [{ name: "n0", ip: NODE_IP, podCIDR: "10.7.0.0/24", gateway: true }] }));
    const r = await inNs([GATEWAY, "--site", file, "--node", "n0"]);
    assert.equal(r.exitCode, 2, r.stdout);
    assert.match(r.stdout, /unknown cable driver \\"ipsec\\"; supported: vxlan/);
    assert.equal(await causewayState(), "");
  });

  it("the wireguard driver without wireguard-go (and no kernel module): exit 2 naming the package to install, no host state", async () => {
    const file = join(dir, "site.yaml");
    writeFileSync(file, toYaml({ ...goodSite(dir), cableDriver: "wireguard", nodes: [{ name: "n0", ip: NODE_IP, podCIDR: "10.7.0.0/24", gateway: true }] }));
    const r = await run.run(
      "ip",
      ["netns", "exec", NS, "env", "CAUSEWAY_WIREGUARD_GO=/nonexistent/wireguard-go", node, GATEWAY, "--site", file, "--node", "n0"],
      {
        allowFailure: true,
      },
    );
    if (existsSync("/sys/module/wireguard")) return; // a kernel with the module needs no wireguard-go
    assert.equal(r.exitCode, 2, r.stdout);
    assert.match(r.stdout, /apt-get install wireguard-go/);
    assert.equal(await causewayState(), "");
  });

  it("a broker that is down at start: retried with growing backoff and a clear log line, no crash; caught up once it is back", async () => {
    const socket = join(dir, "broker.sock");
    const brokerCfg = { listen: [`unix://${socket}`], db: join(dir, "broker.db"), adminTokenFile: join(dir, "admin-token") };
    // Join the cluster once so its credential exists, then take the broker down.
    let broker = await startBroker(brokerCfg, silentLogger());
    const admin = new BrokerConnection({ address: `unix://${socket}`, token: readFileSync(brokerCfg.adminTokenFile, "utf8").trim() });
    const { token } = await admin.join({ cluster_id: "c7", cluster_cidr: ["10.7.0.0/16"], service_cidr: ["10.107.0.0/16"], global_cidr: [] });
    admin.close();
    await broker.close();
    rmSync(socket, { force: true });
    writeFileSync(join(dir, "token"), `${token}\n`);
    const file = join(dir, "site.yaml");
    writeFileSync(file, toYaml(goodSite(dir, `unix://${socket}`)));

    const child = spawn("ip", ["netns", "exec", NS, node, ROUTE_AGENT, "--site", file, "--node", "n1"], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    try {
      const retries = await until(
        "three retry lines",
        async () => {
          const lines = out
            .split("\n")
            .filter((l) => l.includes("broker unreachable"))
            .map((l) => JSON.parse(l) as { attempt: number; retryInMs: number; broker: string; level: number });
          return lines.length >= 3 ? lines : undefined;
        },
        20_000,
      );
      assert.equal(child.exitCode, null, "still running, not crash-looping");
      assert.deepEqual(
        retries.slice(0, 3).map((l) => l.attempt),
        [1, 2, 3],
      );
      assert.ok((retries[2]?.retryInMs ?? 0) > (retries[0]?.retryInMs ?? 0), "the delay grows");
      assert.ok(
        retries.every((l) => l.broker === `unix://${socket}` && l.level === 40),
        "warn lines naming the broker",
      );
      assert.equal(await causewayState(), "", "nothing is touched before the first list");

      broker = await startBroker(brokerCfg, silentLogger());
      try {
        await until("the agent syncs once the broker is back", async () => ((await causewayState()).includes("CAUSEWAY-FORWARD") ? true : undefined), 20_000);
        assert.equal(child.exitCode, null);
      } finally {
        await broker.close();
      }
    } finally {
      child.kill("SIGTERM");
      await new Promise((r) => (child.exitCode === null ? child.once("exit", r) : r(null)));
    }
  });
});
