/**
 * Lab e2e, health checks and observability (standalone mode, VXLAN): 2 clusters × 2 nodes,
 * gateways probing every 0.2 s with a loss threshold of 3. The active gateway's status carries
 * each connection's probe verdict and RTT (`show connections`, `show gateways`, metrics); a
 * remote cluster that goes away (its gateway node's underlay cut) is marked error within the
 * threshold and connected again when it returns; every component answers /healthz, /readyz
 * and /metrics. Needs root.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type Connection, parseValue } from "@causeway/api";
import { METRICS_PORTS, ProcessRunner } from "@causeway/common";
import { Lab, REPO_ROOT, until } from "@causeway/lab";

const root = process.getuid?.() === 0;
const NAME = "cwhc";
const INTERVAL_S = 0.2;
const MAX_LOSS = 3;

/** c1's active gateway's connection to c2 as the broker has it. */
async function c1ToC2(lab: Lab): Promise<Connection | undefined> {
  const admin = lab.admin();
  try {
    const r = (await admin.list("gateway")).records.find((x) => x.clusterId === "c1" && x.name === "n0");
    return r && parseValue("gateway", r.valueJson).connections.find((c) => c.endpoint.cluster_id === "c2");
  } finally {
    admin.close();
  }
}

/** GET http://127.0.0.1:<port><path> from inside a namespace: status code and body. */
async function httpIn(ns: string, port: number, path: string): Promise<{ code: number; body: string }> {
  const script = `const r = await fetch("http://127.0.0.1:${port}${path}"); console.log(JSON.stringify({ code: r.status, body: await r.text() }));`;
  const r = await new ProcessRunner(10_000).run("ip", ["netns", "exec", ns, process.execPath, "--input-type=module", "-e", script]);
  return JSON.parse(r.stdout) as { code: number; body: string };
}

describe("lab health checks: probes, status, metrics", { skip: root ? false : "needs root" }, () => {
  let lab: Lab;
  before(async () => {
    await Lab.down(NAME);
    lab = await Lab.up({ name: NAME, clusters: 2, nodes: 2, healthCheckInterval: INTERVAL_S, healthCheckMaxPacketLossCount: MAX_LOSS });
    await lab.waitConnected(60_000);
  });
  after(async () => {
    await Lab.down(NAME);
  });

  it("connections carry the probes' verdict and RTT: show connections (RTT avg.), show gateways (HA STATUS), metrics", async () => {
    const c = await until("c1 → c2 connected with RTT", async () => {
      const x = await c1ToC2(lab);
      return x?.status === "connected" && x.latencyRTT ? x : undefined;
    });
    assert.match(c.latencyRTT?.average ?? "", /^[\d.]+(µs|ms)$/);
    const cli = (args: string[]) => new ProcessRunner(30_000).run(process.execPath, [join(REPO_ROOT, "cli/src/main.ts"), ...args, "--lab", NAME]);
    const conns = (await cli(["show", "connections"])).stdout;
    assert.match(conns, /RTT avg\./);
    assert.match(conns, /n0\s+c2\s+198\.18\.2\.10\s+no\s+vxlan\s+.*connected\s+[\d.]+(µs|ms)/);
    const gws = (await cli(["show", "gateways"])).stdout;
    assert.match(gws, /NODE\s+HA STATUS\s+SUMMARY/);
    assert.match(gws, /n0\s+active\s+All connections \(1\) are established/);
    const m = await httpIn(lab.resolve("c1/n0").ns, METRICS_PORTS.gateway, "/metrics");
    assert.equal(m.code, 200);
    assert.match(m.body, /causeway_connections\{[^}]*local_cluster="c1"[^}]*remote_cluster="c2"[^}]*status="connected"[^}]*\} 1/);
    assert.match(m.body, /causeway_connection_latency_seconds\{[^}]*remote_cluster="c2"[^}]*\} [\d.e-]+/);
    assert.match(m.body, /causeway_gateway_active\{[^}]*\} 1/);
  });

  it("every component answers /healthz and /readyz, and serves metrics", async () => {
    const targets = [
      { what: "gateway c1/n0", ns: lab.resolve("c1/n0").ns, port: METRICS_PORTS.gateway },
      { what: "route agent c1/n1", ns: lab.resolve("c1/n1").ns, port: METRICS_PORTS.routeAgent },
      { what: "broker", ns: lab.state.broker.ns, port: METRICS_PORTS.broker },
    ];
    for (const t of targets) {
      for (const path of ["/healthz", "/readyz"]) assert.deepEqual(await httpIn(t.ns, t.port, path), { code: 200, body: "ok\n" }, `${t.what} ${path}`);
      assert.match((await httpIn(t.ns, t.port, "/metrics")).body, /process_cpu_seconds_total/, `${t.what} /metrics`);
    }
    assert.match((await httpIn(lab.state.broker.ns, METRICS_PORTS.broker, "/metrics")).body, /causeway_broker_records\{[^}]*kind="endpoint"[^}]*\} 2/);
    assert.match((await httpIn(lab.resolve("c1/n1").ns, METRICS_PORTS.routeAgent, "/metrics")).body, /causeway_route_agent_sync_iterations\{[^}]*\} [1-9]/);
  });

  it("a remote cluster that goes away is marked error within the threshold, and connected again when it returns", async () => {
    await until("c1 → c2 connected", async () => ((await c1ToC2(lab))?.status === "connected" ? true : undefined));
    const t0 = performance.now();
    await lab.exec("c2/n0", ["ip", "link", "set", "ul0", "down"]);
    try {
      const down = await until("c1 marks c2 error", async () => {
        const x = await c1ToC2(lab);
        return x?.status === "error" ? x : undefined;
      });
      const took = performance.now() - t0;
      // Threshold: MAX_LOSS probes unanswered, each known one interval after it left; then a status write and our polling.
      const bound = (MAX_LOSS + 1) * INTERVAL_S * 1000 + 1000;
      console.log(`# c2 gone: marked error after ${Math.round(took)} ms (threshold ${(MAX_LOSS + 1) * INTERVAL_S * 1000} ms)`);
      assert.ok(took <= bound, `marked error after ${Math.round(took)} ms (bound ${bound} ms)`);
      assert.match(down.statusMessage, /no reply from the remote endpoint's health-check IP 10\.2\.\d+\.\d+ to the last 3 probes/);
      const m = await httpIn(lab.resolve("c1/n0").ns, METRICS_PORTS.gateway, "/metrics");
      assert.match(m.body, /causeway_connections\{[^}]*remote_cluster="c2"[^}]*status="error"[^}]*\} 1/);
    } finally {
      await lab.exec("c2/n0", ["ip", "link", "set", "ul0", "up"]);
    }
    const t1 = performance.now();
    await until("c1 → c2 connected again", async () => ((await c1ToC2(lab))?.status === "connected" ? true : undefined), 20_000);
    console.log(`# c2 back: connected again after ${Math.round(performance.now() - t1)} ms`);
  });
});
