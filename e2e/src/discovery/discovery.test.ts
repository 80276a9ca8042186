/**
 * Lab e2e, service discovery (standalone mode): 2 clusters × 3 nodes, each with the lab's
 * `echo` service (VIP 10.(100+I).0.10:80, one backend pod on n1) and a lighthouse DNS server on
 * n0. Exports through `causeway export service`; pods resolve through their cluster's DNS
 * server; the active-active scenario: c1's backend stops → c1's clients get c2's service and
 * reach it; c1's backend returns → answers return to c1. Needs root.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ProcessRunner } from "@causeway/common";
import { tcpFrom } from "../dataplane/checks.ts";
import { Lab, REPO_ROOT, until } from "../index.ts";
import { stopProcess } from "../lab/processes.ts";

const root = process.getuid?.() === 0;
const NAME = "cwsd";
const ECHO = "echo.default.svc.clusterset.local";
const VIP = { c1: "10.101.0.10", c2: "10.102.0.10" } as const;

describe("lab service discovery: exports, clusterset DNS, active-active", { skip: root ? false : "needs root" }, () => {
  let lab: Lab;
  const cli = (args: string[]) =>
    new ProcessRunner(30_000).run(process.execPath, [join(REPO_ROOT, "cli/src/main.ts"), ...args, "--lab", NAME], { allowFailure: true });
  /** What a pod of `cluster` gets for `name` from its cluster's DNS server (n0's LAN address). */
  const dig = async (from: string, name: string): Promise<string[] | string> => {
    const server = lab.resolve(`${from.split("/")[0]}/n0`).ip;
    const r = await lab.exec(from, [process.execPath, join(REPO_ROOT, "e2e/src/tools/dig.ts"), "--server", server, "--name", name]);
    const out = JSON.parse(r.stdout) as string[] | { error: string };
    return Array.isArray(out) ? out : out.error;
  };
  before(async () => {
    await Lab.down(NAME);
    lab = await Lab.up({ name: NAME, clusters: 2, nodes: 3 });
    await lab.waitConnected(60_000);
    for (const c of ["c2", "c1"]) {
      const r = await cli(["export", "service", "echo", "-n", "default", "--context", c]);
      assert.equal(r.exitCode, 0, r.stdout + r.stderr);
    }
  });
  after(async () => {
    await Lab.down(NAME);
  });

  it("local and remote → local; <cluster>.<svc> names a cluster; unknown names NXDOMAIN; exporting a service the site lacks is refused", async () => {
    assert.deepEqual(await until("c1 resolves", async () => ((await dig("c1/n2/p0", ECHO))[0] === VIP.c1 ? true : undefined)), true);
    assert.deepEqual(await dig("c2/n2/p0", ECHO), [VIP.c2]);
    assert.deepEqual(await dig("c1/n2/p0", `c2.${ECHO}`), [VIP.c2]);
    assert.equal(await dig("c1/n2/p0", "nope.default.svc.clusterset.local"), "ENOTFOUND");
    const r = await cli(["export", "service", "nope", "-n", "default", "--context", "c1"]);
    assert.equal(r.exitCode, 2);
    assert.match(r.stderr, /no service default\/nope in .*c1\.site\.yaml \(services: default\/echo\)/);
  });

  it("active-active: c1's backend stops → c1's clients are answered with c2's service and reach it; back → c1 again", async () => {
    const backend = lab.cluster("c1").processes.find((p) => p.role === "echo/n1/p0");
    assert.ok(backend);
    await stopProcess(backend.pid);
    const t0 = performance.now();
    await until("c1 answers c2's service", async () => ((await dig("c1/n2/p0", ECHO))[0] === VIP.c2 ? true : undefined), 15_000);
    const moved = performance.now() - t0;
    console.log(`# active-active: c1's DNS answered c2's service ${Math.round(moved)} ms after c1's backend stopped`);
    // Detection: one probe interval (1 s) plus the broker round; clients caching the old answer hold it one TTL (5 s) more.
    assert.ok(moved <= 5000, `moved after ${Math.round(moved)} ms`);
    const req = await tcpFrom(lab, "c1/n2/p0", VIP.c2, 80);
    assert.equal(req.exitCode, 0, req.stdout + req.stderr);
    assert.match(req.stdout, /^c2\/n1\/p0 sees 10\.1\.2\.10:/);
    await lab.restart("c1", "echo/n1/p0");
    const t1 = performance.now();
    await until("c1 answers its own service again", async () => ((await dig("c1/n2/p0", ECHO))[0] === VIP.c1 ? true : undefined), 15_000);
    console.log(`# active-active: back to c1 ${Math.round(performance.now() - t1)} ms after its backend returned`);
  });

  it("unexport: the other cluster's clients stop getting it", async () => {
    const r = await cli(["unexport", "service", "echo", "-n", "default", "--context", "c2"]);
    assert.equal(r.exitCode, 0, r.stderr);
    await until("c2 answers c1's service", async () => ((await dig("c2/n2/p0", ECHO))[0] === VIP.c1 ? true : undefined), 10_000);
    assert.equal(await dig("c1/n2/p0", `c2.${ECHO}`), "ENOTFOUND");
  });
});
