import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Counter } from "prom-client";
import { silentLogger } from "./log.ts";
import { MetricsPortInUseError, metricsPortFromFlag, newRegistry, ProbeServer } from "./metrics.ts";

describe("metrics and probe server", () => {
  it("serves /metrics, /healthz and /readyz (503 with the reason until ready); a port in use is refused naming the flag", async () => {
    const registry = newRegistry("causeway-test");
    new Counter({ name: "causeway_test_total", help: "test", registers: [registry] }).inc(3);
    let why: string | undefined = "routes not applied yet";
    // Port 0 here picks a free port (components treat 0 as "off" before they get here).
    const s = await ProbeServer.start({ port: 0, host: "127.0.0.1", registry, ready: () => why, log: silentLogger() });
    const get = async (path: string) => {
      const r = await fetch(`http://127.0.0.1:${s.port}${path}`);
      return { code: r.status, body: await r.text() };
    };
    try {
      assert.deepEqual(await get("/healthz"), { code: 200, body: "ok\n" });
      assert.deepEqual(await get("/readyz"), { code: 503, body: "not ready: routes not applied yet\n" });
      why = undefined;
      assert.deepEqual(await get("/readyz"), { code: 200, body: "ok\n" });
      const m = await get("/metrics");
      assert.equal(m.code, 200);
      assert.match(m.body, /causeway_test_total\{component="causeway-test"\} 3/);
      assert.match(m.body, /process_resident_memory_bytes/);
      assert.equal((await get("/nope")).code, 404);
      await assert.rejects(
        ProbeServer.start({ port: s.port, host: "127.0.0.1", registry, ready: () => undefined, log: silentLogger() }),
        (e: Error) => e instanceof MetricsPortInUseError && /--metrics-port/.test(e.message),
      );
    } finally {
      await s.close();
    }
  });

  it("reads --metrics-port: default when absent, 0 for none, anything else refused", () => {
    assert.equal(metricsPortFromFlag(undefined, 32780), 32780);
    assert.equal(metricsPortFromFlag("0", 32780), 0);
    for (const bad of ["-1", "65536", "http", "1.5"]) assert.throws(() => metricsPortFromFlag(bad, 1), /--metrics-port must be a TCP port/);
  });
});
