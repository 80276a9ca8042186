/**
 * Lab e2e on the real kernel: 2 clusters × 3 nodes with VXLAN cables in standalone mode — the
 * shared data-path scenarios (scenarios.ts, also run in the Kubernetes tier) — then a third
 * cluster joining and one leaving. Needs root (network namespaces); skipped otherwise.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { tcpFrom } from "./checks.ts";
import { dataplaneScenarios } from "./scenarios.ts";
import { ProcessRunner } from "@causeway/common";
import { Lab, labMemoryDir, until } from "@causeway/lab";

const root = process.getuid?.() === 0;
const NAME = "cwe2e";

describe("dataplane: 2 clusters × 3 nodes, VXLAN", { skip: root ? false : "needs root for network namespaces" }, () => {
  let lab: Lab;
  before(async () => {
    await Lab.down(NAME);
    lab = await Lab.up({ name: NAME, clusters: 2, nodes: 3 });
    await lab.waitConnected(60_000);
  });
  after(async () => {
    await Lab.down(NAME);
  });

  const tcp = (from: string, host: string, port = 8080, extra: readonly string[] = []) => tcpFrom(lab, from, host, port, extra);

  dataplaneScenarios(() => lab);

  it("a third cluster joining later reaches both others with nothing restarted", async () => {
    const before = lab
      .processStatus()
      .filter((p) => p.cluster !== "-")
      .map((p) => p.pid);
    await lab.addCluster({ nodes: 3 });
    await lab.waitConnected(60_000);
    for (const to of ["c1/n1/p0", "c2/n2/p0"]) {
      const r = await until(`c3 → ${to}`, async () => {
        const x = await tcp("c3/n1/p0", lab.resolve(to).ip);
        return x.exitCode === 0 ? x : undefined;
      });
      assert.match(r.stdout, /sees 10\.3\.1\.10:/);
    }
    const r = await tcp("c1/n2/p0", lab.resolve("c3/n2/p0").ip);
    assert.equal(r.exitCode, 0);
    const still = lab.processStatus().filter((p) => before.includes(p.pid));
    assert.equal(still.length, before.length, "no process of c1 or c2 was restarted");
    assert.ok(still.every((p) => p.alive));
  });

  it("a cluster that leaves has its routes removed everywhere", async () => {
    await lab.removeCluster("c2");
    for (const c of ["c1", "c3"]) {
      for (const n of ["n0", "n1", "n2"]) {
        await until(`${c}/${n} drops c2's routes`, async () => {
          const r = await lab.exec(`${c}/${n}`, ["ip", "route", "show", "table", "all"]);
          return /10\.(2|102)\.0\.0\/16/.test(r.stdout) ? undefined : true;
        });
      }
    }
    const r = await tcp("c3/n1/p0", lab.resolve("c1/n1/p0").ip);
    assert.equal(r.exitCode, 0, "the remaining clusters still talk");
  });

  it("lab down leaves no namespace, link, process or file of the lab", async () => {
    const pids = lab.processStatus().map((p) => p.pid);
    const dirs = [Lab.dirOf(NAME), labMemoryDir(NAME)];
    for (const d of dirs) assert.ok(existsSync(d), `${d} while the lab is up`);
    await Lab.down(NAME);
    const run = new ProcessRunner();
    const ns = (await run.run("ip", ["netns", "list"])).stdout;
    assert.ok(!ns.includes(`${NAME}-`), ns);
    const links = (await run.run("ip", ["-o", "link", "show"])).stdout;
    assert.ok(!/vx-causeway|vxlan-tunnel|cni0/.test(links), "nothing in the host namespace");
    for (const pid of pids) assert.throws(() => process.kill(pid, 0));
    for (const d of dirs) assert.ok(!existsSync(d), `${d} left behind`);
    assert.deepEqual(
      Lab.list().filter((n) => n === NAME),
      [],
    );
  });
});
