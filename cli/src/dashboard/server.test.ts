import assert from "node:assert/strict";
import { createServer } from "node:net";
import { describe, it } from "node:test";
import type { Cluster } from "@causeway/api";
import { MemoryFeed } from "./feed.ts";
import { Dashboard, type DashMessage, parseListen } from "./server.ts";

const PAGE = { html: "<!doctype html><title>Causeway</title><script src=/app.js></script>", js: "/* page */", css: "/* style */" };
const cluster = (id: string, n: number): Cluster => ({ cluster_id: id, cluster_cidr: [`10.${n}.0.0/16`], service_cidr: [`10.10${n}.0.0/16`], global_cidr: [] });

/** Reads Server-Sent Events from `url` until `want` says it has what it needs (at most 3 s). */
async function stream(url: string, headers: Record<string, string>, want: (events: { event: string; data: DashMessage; atMs: number }[]) => boolean) {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), 3000);
  const got: { event: string; data: DashMessage; atMs: number }[] = [];
  try {
    const res = await fetch(url, { headers, signal: ac.signal });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "text/event-stream");
    const body = res.body;
    assert.ok(body, "a stream");
    const reader = body.getReader() as ReadableStreamDefaultReader<Uint8Array>;
    let buf = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += new TextDecoder().decode(value);
      let i: number;
      while ((i = buf.indexOf("\n\n")) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1] ?? "";
        const data = JSON.parse(/^data: (.*)$/m.exec(block)?.[1] ?? "null") as DashMessage;
        got.push({ event, data, atMs: performance.now() });
      }
      if (want(got)) break;
    }
  } finally {
    clearTimeout(timer);
    ac.abort();
  }
  return got;
}

describe("dashboard server", () => {
  it("serves the page and the state; a change reaches an open page as one event with what changed, well within 1 s", async () => {
    const feed = new MemoryFeed();
    feed.set({ clusters: new Map([["c1", cluster("c1", 1)]]) });
    const d = await Dashboard.start({ listen: "127.0.0.1:0", feed, page: PAGE });
    try {
      const page = await fetch(d.url);
      assert.equal(page.status, 200);
      assert.match(page.headers.get("content-security-policy") ?? "", /script-src 'self'/);
      assert.equal(page.headers.get("x-content-type-options"), "nosniff");
      assert.equal(await page.text(), PAGE.html);
      const state = (await (await fetch(`${d.url}api/state`)).json()) as DashMessage;
      assert.deepEqual(
        state.state.clusters.map((c) => c.id),
        ["c1"],
      );
      let changedAt = 0;
      const got = await stream(`${d.url}api/stream`, {}, (evs) => {
        if (evs.length === 1) {
          changedAt = performance.now();
          feed.set({
            clusters: new Map([
              ["c1", cluster("c1", 1)],
              ["c2", cluster("c2", 2)],
            ]),
          });
        }
        return evs.length >= 2;
      });
      assert.deepEqual(
        got.map((g) => g.event),
        ["state", "change"],
      );
      assert.deepEqual(
        got[1]?.data.events.map((e) => `${e.kind} ${e.subject} ${e.text}`),
        ["cluster c2 joined"],
      );
      assert.deepEqual(
        got[1]?.data.state.clusters.map((c) => c.id),
        ["c1", "c2"],
      );
      const ms = (got[1]?.atMs ?? 0) - changedAt;
      assert.ok(ms < 200, `the change reached the page ${Math.round(ms)} ms after the feed had it`);
      assert.equal((await fetch(d.url, { method: "POST" })).status, 405);
    } finally {
      await d.close();
    }
  });

  it("with a token: the data needs it (401 without, or with another), the page shell does not; no response holds the token", async () => {
    const token = "s3cret-token-for-the-test";
    const feed = new MemoryFeed();
    feed.set({ clusters: new Map([["c1", cluster("c1", 1)]]) });
    const d = await Dashboard.start({ listen: "127.0.0.1:0", token, feed, page: PAGE });
    try {
      const bodies: string[] = [];
      const get = async (path: string, headers: Record<string, string> = {}) => {
        const r = await fetch(`${d.url}${path}`, { headers });
        const text = await r.text();
        bodies.push(text, JSON.stringify([...r.headers]));
        return r.status;
      };
      assert.equal(await get(""), 200);
      assert.equal(await get("app.js"), 200);
      assert.equal(await get("api/state"), 401);
      assert.equal(await get("api/state", { authorization: "Bearer wrong" }), 401);
      assert.equal(await get(`api/state?token=${token}`), 401, "not in the URL: only the header");
      assert.equal(await get("api/stream"), 401);
      assert.equal(await get("api/state", { authorization: `Bearer ${token}` }), 200);
      const streamed = await stream(`${d.url}api/stream`, { authorization: `Bearer ${token}` }, (evs) => evs.length >= 1);
      bodies.push(JSON.stringify(streamed));
      for (const b of bodies) assert.ok(!b.includes(token), "a response holds the token");
    } finally {
      await d.close();
    }
  });

  it("an unreachable target: the last view stays, marked stale with why and since when; reachable again, the mark goes", async () => {
    const feed = new MemoryFeed();
    let now = 1_000_000;
    feed.set({ clusters: new Map([["c1", cluster("c1", 1)]]) });
    const d = await Dashboard.start({ listen: "127.0.0.1:0", feed, page: PAGE, now: () => now });
    try {
      now += 1000;
      feed.fail("broker 198.18.0.2:7400 unreachable: connect ECONNREFUSED");
      feed.set({ clusters: new Map() });
      const stale = d.message();
      assert.deepEqual(stale.stale, { problem: "broker 198.18.0.2:7400 unreachable: connect ECONNREFUSED", sinceMs: 1_001_000 });
      assert.deepEqual(
        stale.state.clusters.map((c) => c.id),
        ["c1"],
        "the last view is kept",
      );
      now += 1000;
      feed.fail(undefined);
      assert.equal(d.message().stale, undefined);
      assert.deepEqual(d.message().state.clusters, []);
      assert.deepEqual(
        d.message().events.map((e) => `${e.kind} ${e.subject} ${e.text} @${e.atMs}`),
        ["cluster c1 left @1002000"],
      );
    } finally {
      await d.close();
    }
  });

  it("bad input: an address other than loopback without a token, a port in use, a listen that is no address: refused naming the flag", async () => {
    const feed = new MemoryFeed();
    await assert.rejects(
      Dashboard.start({ listen: "0.0.0.0:8099", feed, page: PAGE }),
      /--listen 0\.0\.0\.0:8099 is reachable from other machines: give --token/,
    );
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, "127.0.0.1", () => r()));
    const port = (taken.address() as { port: number }).port;
    try {
      await assert.rejects(
        Dashboard.start({ listen: `127.0.0.1:${port}`, feed, page: PAGE }),
        new RegExp(`port ${port} is in use \\(--listen 127\\.0\\.0\\.1:${port}\\): choose another with --listen`),
      );
    } finally {
      taken.close();
    }
    for (const bad of ["8099", "example.com:8099", "127.0.0.1:99999", "127.0.0.1:", "[::1]8099"])
      assert.throws(() => parseListen(bad), /--listen .*give an address and a port/, bad);
    assert.deepEqual(parseListen("[::1]:8099"), { host: "::1", port: 8099 });
  });
});
