/**
 * Lab e2e, the broker under faults.
 * 1. HA (backend nats: 3 NATS nodes, 3 broker replicas): a stream of writes through every
 *    replica's address while a NATS node and the broker replica the clients use are killed (-9)
 *    and restarted. Every acknowledged write is there afterwards; watchers on each replica saw
 *    every change exactly once, in revision order, without relisting; pod ↔ pod probes lost nothing.
 * 2. The single SQLite broker down for 60 s: pod ↔ pod probes lose nothing; an export made during
 *    the outage and a cluster joined when it is back both reach every cluster.
 * Needs root.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { BrokerWatcher, ProcessRunner, silentLogger } from "@causeway/common";
import { podDig } from "../discovery/pods.ts";
import { alive, failGateway, Lab, labMemoryDir, Probes, recoverGateway, REPO_ROOT, until } from "@causeway/lab";

const root = process.getuid?.() === 0;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const PAIRS = [
  ["c1/n1/p0", "c2/n1/p0"],
  ["c2/n1/p0", "c1/n1/p0"],
] as const;

/** Runs the write load (lab/src/tools/brokerload.ts) inside a lab namespace; resolves with its acknowledged writes. */
function startLoad(
  lab: Lab,
  from: string,
  cluster: string,
  count: number,
  out: string,
): { child: ChildProcess; done: Promise<{ name: string; revision: number }[]> } {
  rmSync(out, { force: true });
  const argv = [
    lab.state.nodeBin,
    join(REPO_ROOT, "lab/src/tools/brokerload.ts"),
    "--address",
    lab.state.broker.address,
    "--token-file",
    join(lab.state.dir, `${cluster}.token`),
    "--cluster",
    cluster,
    "--count",
    String(count),
    "--interval",
    "10",
    "--out",
    out,
    ...(lab.state.broker.tls ? ["--ca", lab.state.broker.tls.caFile] : []),
  ];
  const child = spawn("ip", ["netns", "exec", lab.resolve(from).ns, ...argv], { stdio: ["ignore", "pipe", "pipe"] });
  let err = "";
  child.stderr?.on("data", (b: Buffer) => (err += b.toString()));
  const done = new Promise<{ name: string; revision: number }[]>((resolve, reject) =>
    child.once("close", (code, signal) => {
      if (code !== 0) return reject(new Error(`brokerload exited ${code ?? signal}: ${err}`));
      resolve(
        readFileSync(out, "utf8")
          .split("\n")
          .filter(Boolean)
          .map((l) => JSON.parse(l) as { name: string; revision: number }),
      );
    }),
  );
  done.catch(() => undefined); // awaited by the test; a kill in its cleanup must not surface as an unhandled rejection
  return { child, done };
}

/**
 * The probes lost nothing once the path answered (the faults come after `probes.answering()`):
 * every probe sent from the first answer on was answered (a probe still in flight at the stop is
 * not a loss). Probes before the first answer are the probe starting (a first datagram can wait
 * out neighbour resolution on 4 hops), not the fault.
 */
function assertNoLoss(results: Record<string, { sent: number; answered: number; outages: readonly unknown[]; lostAtStart: number; lostAtEnd: number }>): void {
  for (const [dir, r] of Object.entries(results)) {
    assert.ok(r.sent > 100, `${dir}: ${r.sent} probes sent`);
    assert.deepEqual(r.outages, [], `${dir}: ${JSON.stringify(r)}`);
    const lost = r.sent - r.lostAtStart - r.answered - r.lostAtEnd;
    assert.ok(lost <= 0, `${dir}: ${lost} probes lost after the path answered (${JSON.stringify(r)})`);
  }
}

describe(
  "lab broker HA (backend nats): writes and watches through a NATS node and a broker replica killed",
  { skip: root ? false : "needs root", timeout: 600_000 },
  () => {
    const NAME = "cwbha";
    let lab: Lab;
    before(async () => {
      await Lab.down(NAME);
      // TLS on the brokers too: every component and the load dial the replicas with the lab's CA.
      lab = await Lab.up({ name: NAME, clusters: 2, nodes: 2, brokerBackend: "nats", brokerReplicas: 3, brokerTls: true });
      await lab.waitConnected(60_000);
    });
    after(async () => {
      await Lab.down(NAME);
    });

    it("every acknowledged write survives; every watcher sees every change once, in order; the data path loses nothing", async () => {
      const ha = lab.state.broker.ha;
      assert.ok(ha);
      const watchers = ha.replicas.map((r) => {
        const conn = lab.admin(r.index);
        const seen: number[] = [];
        let relists = 0;
        const w = new BrokerWatcher(conn, {
          kinds: ["export"],
          log: silentLogger(),
          onChange: () => undefined,
          minBackoffMs: 100,
          maxBackoffMs: 500,
          onApply: (_t, rec, rev) => {
            if (rec.name.startsWith("load.")) seen.push(rev);
          },
        });
        const synced = w.synced.then(() => relists++);
        w.start();
        return { replica: r.index, conn, w, seen, synced, relists: () => relists };
      });
      await Promise.all(watchers.map((x) => x.synced));
      const probes = new Probes(lab, PAIRS, 20);
      const load = startLoad(lab, "c1/n0", "c1", 1500, join(lab.state.dir, "load.jsonl"));
      try {
        await probes.answering();
        await sleep(3000);
        // The NATS node that is first in every client's list, and the broker replica the load's channel picked first.
        const nats1 = ha.nats[0];
        const b1 = ha.replicas[0]?.process;
        assert.ok(nats1?.pid && b1);
        process.kill(nats1.pid, "SIGKILL");
        process.kill(b1.pid, "SIGKILL");
        await until("killed", async () => (!alive(nats1.pid ?? 0) && !alive(b1.pid) ? true : undefined), 5000);
        await sleep(4000);
        await lab.startNatsNode(1);
        await lab.startReplica(1);
        const acked = await load.done;
        assert.equal(acked.length, 1500);
        const probeResults = await probes.stop();
        // Every acknowledged write is stored, on every replica.
        for (const r of ha.replicas) {
          const c = lab.admin(r.index);
          try {
            const { records } = await c.list("export");
            const names = new Set(records.map((x) => x.name));
            const missing = acked.filter((a) => !names.has(a.name));
            assert.deepEqual(missing, [], `replica ${r.index} misses ${missing.length} acknowledged writes`);
          } finally {
            c.close();
          }
        }
        // Every watcher: each acknowledged revision once, in order, without a relist (resumed from its revision).
        const last = Math.max(...acked.map((a) => a.revision));
        for (const x of watchers) {
          await until(`watcher on replica ${x.replica} caught up`, async () => ((x.seen.at(-1) ?? 0) >= last ? true : undefined), 30_000);
          assert.equal(x.relists(), 1, `watcher on replica ${x.replica} relisted`);
          assert.equal(new Set(x.seen).size, x.seen.length, `watcher on replica ${x.replica} saw a revision twice`);
          assert.deepEqual(
            x.seen,
            [...x.seen].sort((a, b) => a - b),
          );
          const seen = new Set(x.seen);
          const unseen = acked.filter((a) => !seen.has(a.revision));
          assert.deepEqual(unseen, [], `watcher on replica ${x.replica} missed ${unseen.length} writes`);
        }
        const retried = readFileSync(join(lab.state.dir, "load.jsonl"), "utf8")
          .split("\n")
          .filter((l) => l.includes('"attempts":') && !l.includes('"attempts":1}')).length;
        console.log(`# broker HA: 1500 writes acknowledged (${retried} needed a retry while the replica/NATS node were down); 3 watchers saw each once`);
        assertNoLoss(probeResults);
      } finally {
        if (load.child.exitCode === null) load.child.kill("SIGKILL");
        await probes.stop().catch(() => undefined);
        for (const x of watchers) {
          x.w.stop();
          x.conn.close();
        }
      }
    });
  },
);

describe("lab broker TLS (standalone, --broker-tls)", { skip: root ? false : "needs root", timeout: 300_000 }, () => {
  const NAME = "cwbtl";
  let lab: Lab;
  before(async () => {
    await Lab.down(NAME);
    lab = await Lab.up({ name: NAME, clusters: 2, nodes: 1, brokerTls: true });
    await lab.waitConnected(60_000);
  });
  after(async () => {
    await Lab.down(NAME);
  });

  it("components dial the broker over TLS; a client without the CA is refused, one with it is served", async () => {
    const tls = lab.state.broker.tls;
    assert.ok(tls);
    const show = (extra: readonly string[]) =>
      lab.exec("c1/n0", [
        process.execPath,
        join(REPO_ROOT, "cli/src/main.ts"),
        "show",
        "endpoints",
        "--broker",
        lab.state.broker.address,
        "--token-file",
        join(lab.state.dir, "c1.token"),
        ...extra,
      ]);
    const plain = await show([]);
    assert.notEqual(plain.exitCode, 0, "a plaintext client gets nowhere");
    const withCa = await show(["--ca", tls.caFile]);
    assert.equal(withCa.exitCode, 0, withCa.stdout + withCa.stderr);
    assert.match(withCa.stdout, /c2\s+198\.18\.2\.10/);
  });
});

describe("lab faults (SQLite broker): a gateway killed and restarted, 60 s without a broker", { skip: root ? false : "needs root", timeout: 600_000 }, () => {
  const NAME = "cwbdn";
  let lab: Lab;
  before(async () => {
    await Lab.down(NAME);
    lab = await Lab.up({ name: NAME, clusters: 2, nodes: 2 });
    await lab.waitConnected(60_000);
  });
  after(async () => {
    await Lab.down(NAME);
  });

  it("a gateway killed (-9) and started again: its cables stay as they are, the data path loses nothing", async () => {
    const probes = new Probes(lab, PAIRS, 20);
    try {
      await probes.answering();
      await sleep(1000);
      await failGateway(lab, "c1", "n0", "kill");
      await recoverGateway(lab, "c1", "n0", "kill");
      await lab.waitConnected(30_000);
      await sleep(2000);
      assertNoLoss(await probes.stop());
    } finally {
      await probes.stop().catch(() => undefined);
    }
  });

  it("the data path loses nothing; an export made during the outage and a cluster joined after it reach every cluster", async () => {
    const probes = new Probes(lab, PAIRS, 20);
    try {
      await probes.answering();
      // Exported before the service exists (unavailable, imported nowhere) ...
      const exp = await new ProcessRunner(30_000).run(
        process.execPath,
        [join(REPO_ROOT, "cli/src/main.ts"), "export", "service", "during", "-n", "default", "--context", "c1", "--lab", NAME],
        { allowFailure: true },
      );
      assert.equal(exp.exitCode, 0, exp.stdout + exp.stderr);
      const b = lab.state.broker.process;
      assert.ok(b);
      process.kill(b.pid, "SIGKILL");
      await until("broker gone", async () => (alive(b.pid) ? undefined : true), 5000);
      // ... and the service appears during the outage: c1's lighthouse has an export to update and keeps trying.
      await lab.addService("c1/default/during", { pods: 1 });
      await sleep(60_000);
      await lab.restartBroker();
      const c3 = await lab.addCluster({ nodes: 2 });
      await lab.waitConnected(60_000);
      const results = await probes.stop();
      assertNoLoss(results);
      // The export made during the outage is at the broker and imported by c2 and c3 (their lighthouses answer for it).
      for (const id of ["c2", c3.spec.id]) {
        await until(
          `${id} resolves during.default.svc.clusterset.local`,
          async () => {
            const ips = await podDig(lab, `${id}/n1/p0`, "during.default.svc.clusterset.local");
            return Array.isArray(ips) && ips.length > 0 ? true : undefined;
          },
          30_000,
        );
      }
      assert.ok(existsSync(join(labMemoryDir(lab.state.name), "broker.db")));
    } finally {
      await probes.stop().catch(() => undefined);
    }
  });
});
