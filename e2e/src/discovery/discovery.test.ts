/**
 * Lab e2e, service discovery (standalone mode; Submariner's scenarios, reference §10.2): 3
 * clusters × 3 nodes, each with a lighthouse on n0 and a CoreDNS pod (cluster.local, and
 * clusterset.local forwarded to the lighthouse); pods resolve through their resolv.conf as in
 * Kubernetes. Services are made with the lab's `service add` (pods answering "<cluster>/<pod>")
 * and exported with `causeway export service`. Needs root.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ProcessRunner } from "@causeway/common";
import { Lab, stopProcess, until } from "@causeway/lab";
import { credentialsIn, labCredentials } from "./archive.ts";
import { labCli, podDig, podGet } from "./pods.ts";

const root = process.getuid?.() === 0;
const NAME = "cwsd";
const fqdn = (svc: string) => `${svc}.default.svc.clusterset.local`;
const CLIENT = "c1/n2/p0";

describe("lab service discovery: exports, clusterset DNS through CoreDNS, active-active", { skip: root ? false : "needs root" }, () => {
  let lab: Lab;
  const { cli, exportFrom } = labCli(NAME);
  /** What a pod gets for `name` from its own nameserver (CoreDNS), or the error code. */
  const dig = (from: string, name: string) => podDig(lab, from, name);
  const get = (from: string, host: string) => podGet(lab, from, host);
  const vip = (cluster: string, svc: string) => lab.cluster(cluster).services?.find((s) => s.name === svc)?.vip ?? "";
  before(async () => {
    await Lab.down(NAME);
    lab = await Lab.up({ name: NAME, clusters: 3, nodes: 3, dnsAnswer: "cluster-ip" });
    await lab.waitConnected(60_000);
  });
  after(async () => {
    await Lab.down(NAME);
  });

  it("a remote service resolves and is reachable by name; ServiceExport before its service works", async () => {
    await exportFrom("web", "c2"); // before the service exists: unavailable, not resolvable
    assert.equal(await dig(CLIENT, fqdn("web")), "ENOTFOUND");
    await lab.addService("c2/default/web", { pods: 2 });
    assert.equal(await until("c1 reaches c2's web", async () => ((await get(CLIENT, fqdn("web"))).startsWith("c2/web-") ? true : undefined), 10_000), true);
    // cluster.local still answers the cluster's own services, from the same CoreDNS.
    assert.deepEqual(await dig(CLIENT, "echo.default.svc.cluster.local"), ["10.101.0.10"]);
    assert.equal(await get(CLIENT, "web.default.svc.cluster.local"), "error ENOTFOUND", "c1 has no web of its own yet");
  });

  it("local and remote → local; <cluster>.<svc> names a cluster; unknown names NXDOMAIN", async () => {
    await lab.addService("c1/default/web", { pods: 1 });
    await exportFrom("web", "c1");
    await until("c1 answers its own web", async () => ((await dig(CLIENT, fqdn("web")))[0] === vip("c1", "web") ? true : undefined), 10_000);
    assert.equal(await get(CLIENT, fqdn("web")), "c1/web-0");
    assert.deepEqual(await dig(CLIENT, `c2.${fqdn("web")}`), [vip("c2", "web")]);
    assert.equal(await dig(CLIENT, fqdn("nope")), "ENOTFOUND");
    assert.equal(await dig(CLIENT, `c3.${fqdn("web")}`), "ENOTFOUND");
  });

  it("no local service: repeated queries round-robin across clusters; ready in one cluster only → only that one; none ready → not resolvable", async () => {
    await lab.addService("c2/default/rr", { pods: 1 });
    await lab.addService("c3/default/rr", { pods: 1 });
    await exportFrom("rr", "c2", "c3");
    const want = new Set([vip("c2", "rr"), vip("c3", "rr")]);
    const seen = new Set<string>();
    await until(
      "both clusters answered",
      async () => {
        const a = await dig(CLIENT, fqdn("rr"));
        if (Array.isArray(a)) for (const ip of a) seen.add(ip);
        return seen.size === 2 ? true : undefined;
      },
      10_000,
    );
    assert.deepEqual(seen, want);
    // c3's pod stops (its endpoint stays listed, fails the readiness probe).
    const pod = lab.cluster("c3").processes.find((p) => p.role === "svc/default/rr-0");
    assert.ok(pod);
    await stopProcess(pod.pid);
    await until(
      "only c2 answered",
      async () => {
        const answers = await Promise.all([1, 2, 3, 4].map(() => dig(CLIENT, fqdn("rr"))));
        return answers.every((a) => Array.isArray(a) && a.length === 1 && a[0] === vip("c2", "rr")) ? true : undefined;
      },
      10_000,
    );
    await lab.scaleService("c2/default/rr", 0);
    // A known service with nothing to answer: NOERROR with no records (NODATA), reference §8.2.
    await until("none ready: not resolvable", async () => ((await dig(CLIENT, fqdn("rr"))) === "ENODATA" ? true : undefined), 10_000);
  });

  it("headless: ready pod IPs of every cluster, and each pod by <host>.<cluster>.<svc>", async () => {
    const svc = await lab.addService("c2/default/db", { pods: 2, headless: true, port: 5432 });
    await exportFrom("db", "c2");
    const ips = svc.pods.map((p) => p.ip).sort();
    await until(
      "both pods answered",
      async () => {
        const a = await dig(CLIENT, fqdn("db"));
        return Array.isArray(a) && a.sort().join() === ips.join() ? true : undefined;
      },
      10_000,
    );
    assert.deepEqual(await dig(CLIENT, `db-1.c2.${fqdn("db")}`), [svc.pods[1]?.ip]);
    assert.equal(await dig(CLIENT, `db-9.c2.${fqdn("db")}`), "ENOTFOUND");
  });

  it("a cluster whose cable is down is not answered, and is again once it is back", async () => {
    await lab.addService("c2/default/cd", { pods: 1 });
    await lab.addService("c3/default/cd", { pods: 1 });
    await exportFrom("cd", "c2", "c3");
    await until("c1 answers c3", async () => ((await dig(CLIENT, `c3.${fqdn("cd")}`))[0] === vip("c3", "cd") ? true : undefined), 10_000);
    await lab.exec("c3/n0", ["ip", "link", "set", "ul0", "down"]);
    try {
      const t0 = performance.now();
      await until(
        "c1 stops answering c3",
        async () => {
          const answers = await Promise.all([1, 2, 3, 4].map(() => dig(CLIENT, fqdn("cd"))));
          return answers.every((a) => Array.isArray(a) && a[0] === vip("c2", "cd")) ? true : undefined;
        },
        20_000,
      );
      console.log(`# cable down: c1 stopped answering c3 ${Math.round(performance.now() - t0)} ms after c3's gateway lost its link`);
    } finally {
      await lab.exec("c3/n0", ["ip", "link", "set", "ul0", "up"]);
    }
    const seen = new Set<string>();
    await until(
      "c3 answered again",
      async () => {
        const a = await dig(CLIENT, fqdn("cd"));
        if (Array.isArray(a)) for (const ip of a) seen.add(ip);
        return seen.has(vip("c3", "cd")) ? true : undefined;
      },
      30_000,
    );
  });

  it("active-active: c1's pods stop → c1's clients reach c2's service by name; c1 recovers → back to c1", async () => {
    await lab.addService("c1/default/aa", { pods: 1 });
    await lab.addService("c2/default/aa", { pods: 1 });
    await exportFrom("aa", "c1", "c2");
    await until("c1 serves aa itself", async () => ((await get(CLIENT, fqdn("aa"))) === "c1/aa-0" ? true : undefined), 10_000);
    const pod = lab.cluster("c1").processes.find((p) => p.role === "svc/default/aa-0");
    assert.ok(pod);
    await stopProcess(pod.pid);
    const t0 = performance.now();
    await until("c1's clients get c2's aa", async () => ((await get(CLIENT, fqdn("aa"))) === "c2/aa-0" ? true : undefined), 15_000);
    const moved = performance.now() - t0;
    console.log(`# active-active: c1's clients reached c2's service by name ${Math.round(moved)} ms after c1's pod stopped`);
    // Detection: one probe interval (1 s) plus the broker round; a client caching the old answer holds it one TTL (5 s) more.
    assert.ok(moved <= 6000, `moved after ${Math.round(moved)} ms`);
    await lab.restart("c1", "svc/default/aa-0");
    const t1 = performance.now();
    await until("back to c1", async () => ((await get(CLIENT, fqdn("aa"))) === "c1/aa-0" ? true : undefined), 15_000);
    console.log(`# active-active: back to c1 ${Math.round(performance.now() - t1)} ms after its pod returned`);
  });

  it("unexport: the other clusters stop getting it", async () => {
    const r = await cli(["unexport", "service", "aa", "-n", "default", "--context", "c2"]);
    assert.equal(r.exitCode, 0, r.stderr);
    await until("c2's aa no longer answered", async () => ((await dig(CLIENT, `c2.${fqdn("aa")}`)) === "ENOTFOUND" ? true : undefined), 10_000);
  });
  it("causeway verify: every check passes on the healthy lab (JUnit report too); with c2's gateway link cut it fails naming the broken checks", async () => {
    const report = join(lab.state.dir, "verify.xml");
    const ok = await cli(["verify", "--context", "c1,c2", "--junit-report", report]);
    assert.equal(ok.exitCode, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /✓ all 6 checks passed/);
    assert.match(readFileSync(report, "utf8"), /<testsuite name="causeway verify" tests="6" failures="0"/);
    await lab.exec("c2/n0", ["ip", "link", "set", "ul0", "down"]);
    try {
      const bad = await cli(["verify", "--context", "c1,c2", "--no-discovery"]);
      assert.equal(bad.exitCode, 1, bad.stdout + bad.stderr);
      assert.match(bad.stdout, /✗ pod c1\/n2\/p0 → pod c2\/n2\/p0 \(TCP, source IP kept\) \(\d+ ms\): error timeout/);
      assert.match(bad.stdout, /✗ \d+ of 5 checks failed/);
    } finally {
      await lab.exec("c2/n0", ["ip", "link", "set", "ul0", "up"]);
    }
  });
  it("causeway diagnose firewall: nothing found on the healthy lab; UDP 4500 dropped leaving c2's gateway is found, with what to do", async () => {
    const ok = await cli(["diagnose", "firewall"]);
    assert.equal(ok.exitCode, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /✓ no problems found/);
    await lab.exec("c2/n0", ["iptables", "-I", "OUTPUT", "-p", "udp", "--dport", "4500", "-j", "DROP"]);
    try {
      const bad = await cli(["diagnose", "firewall"]);
      assert.equal(bad.exitCode, 1, bad.stdout + bad.stderr);
      assert.match(bad.stdout, /✗ UDP 4500 from c2's gateway \(n0\) to c1's gateway 198\.18\.1\.10: nothing arrived .* allow UDP 4500/);
      assert.match(bad.stdout, /✗ UDP 4500 from c2's gateway \(n0\) to c3's gateway/);
      assert.match(bad.stdout, /✓ UDP 4500 from c1's gateway \(n0\) to c2's gateway/);
      assert.match(bad.stdout, /✗ 2 problem\(s\) found/);
    } finally {
      await lab.exec("c2/n0", ["iptables", "-D", "OUTPUT", "-p", "udp", "--dport", "4500", "-j", "DROP"]);
    }
  });
  it("causeway gather: one archive with logs, broker records and every node's state, no credentials; benchmark latency and throughput between clusters", async () => {
    const archive = join(lab.state.dir, "gather.tar.gz");
    const g = await cli(["gather", "-o", archive]);
    assert.equal(g.exitCode, 0, g.stdout + g.stderr);
    const list = (await new ProcessRunner(30_000).run("tar", ["tzf", archive])).stdout.split("\n");
    for (const want of ["logs/broker.log", "logs/c1-n0-gateway.log", "broker-records.json", "c3/node-n2.txt"])
      assert.ok(
        list.some((f) => f.endsWith(want)),
        want,
      );
    assert.deepEqual(
      list.filter((f) => /token|secret|kubeconfig/.test(f)),
      [],
    );
    // No credential the lab made appears anywhere in the archive's contents (logs and records included).
    const secrets = labCredentials(lab.state.dir);
    assert.ok(secrets.length >= 4, `credentials found in the lab: ${secrets.length}`);
    assert.deepEqual(await credentialsIn(archive, secrets), []);
    const lat = await cli(["benchmark", "latency", "--context", "c1,c3"]);
    assert.match(lat.stdout, /✓ latency c1\/n2\/p0 → c3\/n2\/p0 .* avg [\d.]+ ms .* loss 0%/, lat.stdout + lat.stderr);
    const tput = await cli(["benchmark", "throughput"]);
    assert.match(tput.stdout, /✓ throughput c1\/n2\/p0 → c2\/n2\/p0 .*: [\d.]+ Gbit\/s received/, tput.stdout + tput.stderr);
    console.log(`# ${lat.stdout.trim().slice(2)}\n# ${tput.stdout.trim().slice(2)}`);
  });
});
