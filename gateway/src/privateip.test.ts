import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { silentLogger } from "@causeway/common";
import { sourceTowards } from "./privateip.ts";

/** A host whose route towards the broker appears after `failures` looks (its underlay link coming up). */
function routeAfter(failures: number) {
  const asked: string[] = [];
  return {
    asked,
    net: {
      async mtuTowards(dst: string) {
        asked.push(dst);
        if (asked.length <= failures) throw new Error("ip -json route get exited 2: RTNETLINK answers: Network is unreachable");
        return { dev: "ul0", mtu: 1500, src: "198.18.1.10" };
      },
    },
  };
}

describe("a gateway's private IP (the source towards the broker)", () => {
  it("no route yet (underlay link down at start): waits and asks again until there is one, instead of exiting", async () => {
    const h = routeAfter(3);
    const warned: string[] = [];
    const log = silentLogger();
    log.warn = ((_o: unknown, m: string) => void warned.push(m)) as typeof log.warn;
    assert.equal(await sourceTowards(h.net, "198.18.0.2:7400,198.18.0.3:7400", { log, retryMs: 5 }), "198.18.1.10");
    assert.deepEqual(h.asked, ["198.18.0.2", "198.18.0.2", "198.18.0.2", "198.18.0.2"]);
    assert.equal(warned.length, 1, "said once that it waits");
    assert.match(warned[0] ?? "", /no route to the broker.*waiting/);
  });

  it("an uninstall does not wait; a broker named by DNS gives none (the node's address is used)", async () => {
    assert.equal(await sourceTowards(routeAfter(1).net, "198.18.0.2:7400", { log: silentLogger(), once: true }), undefined);
    const h = routeAfter(0);
    assert.equal(await sourceTowards(h.net, "broker.example.com:7400", { log: silentLogger() }), undefined);
    assert.deepEqual(h.asked, []);
  });
});
