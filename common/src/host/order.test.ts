/**
 * The order of a pass's writes (fakes): a pass that makes a device writes the packet filter
 * before the routes; any other pass writes both at once, so a slow iptables-restore does not hold
 * the routes back.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { desired, OWNED } from "./contract.ts";
import { fakeHostAdapters, HostReconciler } from "./index.ts";

describe("host reconciler: the order of a pass's writes", () => {
  it("a new device: the packet filter first, then the routes; a route change alone: both at once (the routes do not wait 200 ms for the filter)", async () => {
    const a = fakeHostAdapters();
    const events: string[] = [];
    const restore = a.filter.restore.bind(a.filter);
    a.filter.restore = async (script: string) => {
      if (!script) return;
      events.push("filter start");
      await new Promise((r) => setTimeout(r, 200));
      await restore(script);
      events.push("filter done");
    };
    const apply = a.net.apply.bind(a.net);
    a.net.apply = async (ops) => {
      events.push(`net ${ops.some((o) => o.op === "link-add") ? "with link-add" : "routes"}`);
      await apply(ops);
    };
    const r = new HostReconciler(a, OWNED);
    await r.reconcile(desired("198.18.5.2", ["10.2.0.0/16"]));
    assert.deepEqual(events, ["filter start", "filter done", "net with link-add"]);
    events.length = 0;
    // Another remote CIDR (a route more) and a rule more in a chain.
    const next = desired("198.18.5.2", ["10.2.0.0/16", "10.3.0.0/16"]);
    await r.reconcile({
      ...next,
      chains: next.chains.map((c) => (c.table === "filter" ? { ...c, rules: [...c.rules, { match: { in: "vx-test" }, target: { kind: "ACCEPT" } }] } : c)),
    });
    assert.deepEqual(events.slice(0, 2), ["filter start", "net routes"], `the routes while the filter is written: ${events.join(", ")}`);
    assert.ok(a.net.state.routes.some((x) => x.dst === "10.3.0.0/16"));
  });
});
