/** The host adapters contract against the real kernel, in a network namespace (root). */
import { hostContract } from "./contract.ts";
import { realHostAdapters } from "./index.ts";
import { FakeSysctl } from "./sysctl.ts";
import { NetnsRunner, ProcessRunner } from "../exec/index.ts";

const root = process.getuid?.() === 0;
hostContract(
  "real kernel (netns)",
  async () => {
    const base = new ProcessRunner();
    const ns = `cwtest-host-${process.pid}`;
    await base.run("ip", ["netns", "add", ns]);
    const run = new NetnsRunner(base, ns);
    const sh = (args: string[]) => run.run(args[0] ?? "", args.slice(1));
    try {
      await sh(["ip", "link", "add", "dummy0", "type", "veth", "peer", "name", "dummy1"]);
      await sh(["ip", "addr", "add", "198.18.5.1/24", "dev", "dummy0"]);
      await sh(["ip", "link", "set", "dummy0", "up"]);
    } catch (err) {
      await base.run("ip", ["netns", "del", ns], { allowFailure: true });
      throw err;
    }
    const adapters = { ...realHostAdapters(run), sysctl: new FakeSysctl() };
    return {
      adapters,
      async drift() {
        await sh(["ip", "route", "del", "10.2.0.0/16", "table", "150"]);
        await sh(["ip", "rule", "add", "pref", "150", "table", "151"]);
        await sh(["iptables", "-t", "filter", "-F", "CAUSEWAY-FORWARD"]);
        await sh(["nft", "flush", "chain", "ip", "causeway", "postrouting"]);
      },
      async addForeign() {
        await sh(["ip", "route", "add", "10.9.0.0/16", "dev", "dummy0", "table", "200"]);
        await sh(["ip", "rule", "add", "pref", "300", "table", "200"]);
        await sh(["iptables", "-t", "nat", "-A", "POSTROUTING", "-s", "10.9.0.0/16", "-j", "MASQUERADE"]);
      },
      async foreignIntact() {
        const routes = (await sh(["ip", "route", "show", "table", "200"])).stdout;
        const rules = (await sh(["ip", "rule", "show"])).stdout;
        const nat = (await sh(["iptables-save", "-t", "nat"])).stdout;
        return routes.includes("10.9.0.0/16") && rules.includes("300:") && nat.includes("MASQUERADE");
      },
      async close() {
        await base.run("ip", ["netns", "del", ns], { allowFailure: true });
      },
    };
  },
  root ? undefined : "needs root (network namespaces)",
);
