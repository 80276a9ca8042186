/**
 * The Lease elector against an API server slow to answer (a fake one: each call answers after
 * `delayMs`, and a call the client gave up on is still carried out, as a real server does): a
 * leader keeps the Lease while answers are slow but in time, renews with one call per round, and
 * still steps down by its deadline when nothing answers. Against a real API server:
 * e2e/src/kube/kube.test.ts.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { silentLogger } from "../log.ts";
import type { KubeClient } from "./client.ts";
import { LeaseElector, type LeaseObject } from "./election.ts";
import { KubeConflictError, KubeNotFoundError, KubeUnreachableError } from "./errors.ts";

class SlowLeaseServer {
  delayMs = 0;
  answering = true;
  lease: LeaseObject | undefined;
  readonly calls: string[] = [];
  #rv = 0;

  request<T>(method: string, path: string, o: { body?: unknown; timeoutMs?: number } = {}): Promise<T> {
    this.calls.push(method);
    const info = { method, path, server: "fake" };
    const work = async (): Promise<unknown> => {
      await new Promise((r) => setTimeout(r, this.delayMs));
      if (method === "GET") {
        if (!this.lease) throw new KubeNotFoundError("not found", info, 404, "NotFound");
        return structuredClone(this.lease);
      }
      const body = structuredClone(o.body) as LeaseObject;
      if (method === "POST" && this.lease) throw new KubeConflictError("exists", info, 409, "AlreadyExists");
      if (method === "PUT" && body.metadata.resourceVersion !== this.lease?.metadata.resourceVersion)
        throw new KubeConflictError("conflict", info, 409, "Conflict");
      this.lease = { ...body, metadata: { ...body.metadata, resourceVersion: String(++this.#rv) } };
      return structuredClone(this.lease);
    };
    return new Promise<T>((resolve, reject) => {
      if (!this.answering) {
        setTimeout(() => reject(new KubeUnreachableError("no answer", info, 0, "Timeout")), o.timeoutMs ?? 10_000);
        return;
      }
      // The server carries the call out whether or not the client still waits.
      const done = work();
      const timer = setTimeout(() => reject(new KubeUnreachableError(`no answer within ${o.timeoutMs} ms`, info, 0, "Timeout")), o.timeoutMs ?? 10_000);
      done.then(
        (v) => {
          clearTimeout(timer);
          resolve(v as T);
        },
        (err: unknown) => {
          clearTimeout(timer);
          reject(err instanceof Error ? err : new Error(String(err)));
        },
      );
    });
  }
}

const TIMINGS = { leaseDurationMs: 1000, renewDeadlineMs: 750, retryPeriodMs: 200 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function elector(server: SlowLeaseServer, events: string[]): LeaseElector {
  return new LeaseElector({
    client: server as unknown as KubeClient,
    namespace: "ns",
    name: "lock",
    identity: "me",
    ...TIMINGS,
    log: silentLogger(),
    onStartedLeading: () => events.push(`lead@${Math.round(performance.now())}`),
    onStoppedLeading: () => events.push(`stop@${Math.round(performance.now())}`),
  });
}

/** Returns 20 ms after the leader's next renewal reached the server: no round is in flight then (the next one is a retry period away). */
async function betweenRounds(server: SlowLeaseServer): Promise<void> {
  const n = server.calls.length;
  for (let i = 0; i < 100 && server.calls.length === n; i++) await sleep(5);
  await sleep(20);
}

/** Runs `body` with a started elector that leads; stops it after. */
async function leading(body: (server: SlowLeaseServer, e: LeaseElector, events: string[]) => Promise<void>): Promise<void> {
  const server = new SlowLeaseServer();
  const events: string[] = [];
  const e = elector(server, events);
  e.start();
  try {
    for (let i = 0; i < 50 && !e.isLeader; i++) await sleep(20);
    assert.ok(e.isLeader, "leads");
    await body(server, e, events);
  } finally {
    server.delayMs = 0;
    server.answering = true;
    await e.stop();
  }
}

describe("Lease elector, API server slow to answer (fake)", () => {
  it("a leader whose every call is answered after 250 ms keeps the Lease for 4 s", async () => {
    await leading(async (server, e, events) => {
      server.delayMs = 250;
      await sleep(4000);
      assert.ok(e.isLeader, `still leads (${events.join(", ")})`);
      assert.equal(events.filter((x) => x.startsWith("stop")).length, 0, `never stepped down (${events.join(", ")})`);
    });
  });

  it("a leader renews with one call per round (a PUT on the Lease it last wrote)", async () => {
    await leading(async (server) => {
      server.calls.length = 0;
      await sleep(1000);
      assert.ok(server.calls.length >= 3, `renewed (${server.calls.join(",")})`);
      assert.deepEqual(new Set(server.calls), new Set(["PUT"]), `only PUTs while nobody else writes (${server.calls.join(",")})`);
    });
  });

  it("a renewal the server carried out after the client gave up: the next round reads the Lease again and renews", async () => {
    await leading(async (server, e, events) => {
      // Answers later than the leader waits, once: the write lands, the client never hears of it.
      server.delayMs = 900;
      await sleep(300);
      server.delayMs = 0;
      await sleep(1500);
      assert.ok(e.isLeader, `leads again or still (${events.join(", ")})`);
      assert.equal(server.lease?.spec?.holderIdentity, "me");
      assert.ok(server.calls.includes("GET"), "read the Lease again after the conflict");
    });
  });

  it("a leader that stops releases the Lease with one call (a PUT on the Lease it last wrote): holder empty", async () => {
    await leading(async (server, e) => {
      await betweenRounds(server);
      server.calls.length = 0;
      await e.stop();
      assert.deepEqual(server.calls, ["PUT"]);
      assert.equal(server.lease?.spec?.holderIdentity, "");
    });
  });

  it("a release whose PUT conflicts (the Lease changed since) reads it and releases it if still held", async () => {
    await leading(async (server, e) => {
      await betweenRounds(server);
      // Another write of the same holder the elector did not see (a renewal whose answer it never got).
      const l = server.lease as LeaseObject;
      server.lease = { ...l, metadata: { ...l.metadata, resourceVersion: `${l.metadata.resourceVersion ?? ""}x` } };
      server.calls.length = 0;
      await e.stop();
      assert.deepEqual(server.calls, ["PUT", "GET", "PUT"]);
      assert.equal(server.lease?.spec?.holderIdentity, "");
    });
  });

  it("nothing answers: the leader steps down by its renew deadline from its last renewal's sending (at most a retry period before the cut), its last call waiting at least 100 ms", async () => {
    await leading(async (server, e) => {
      await sleep(300);
      const cutAt = performance.now();
      server.answering = false;
      for (let i = 0; i < 100 && e.isLeader; i++) await sleep(20);
      const ms = performance.now() - cutAt;
      assert.equal(e.isLeader, false);
      // Its last renewal was sent at most a retry period before the cut.
      assert.ok(ms <= TIMINGS.retryPeriodMs + TIMINGS.renewDeadlineMs + 100 + 30, `stepped down ${Math.round(ms)} ms after the server stopped answering`);
    });
  });
});
