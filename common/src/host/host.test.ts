import { hostContract } from "./contract.ts";
import { fakeHostAdapters } from "./index.ts";

hostContract("fakes", async () => {
  const a = fakeHostAdapters();
  return {
    adapters: a,
    async drift() {
      a.net.state = {
        ...a.net.state,
        routes: a.net.state.routes.filter((r) => r.dst !== "10.2.0.0/16"),
        rules: [...a.net.state.rules, { priority: 150, table: 151 }],
      };
      await a.filter.restore("*filter\n-F CAUSEWAY-FORWARD\nCOMMIT\n");
      if (a.natGuard.state) a.natGuard.state = { ...a.natGuard.state, rulesIntact: false };
    },
    async addForeign() {
      a.net.state = { ...a.net.state, routes: [...a.net.state.routes, { table: 200, dst: "10.9.0.0/16", dev: "eth0" }] };
    },
    async foreignIntact() {
      return a.net.state.routes.some((r) => r.table === 200);
    },
    async close() {},
  };
});
