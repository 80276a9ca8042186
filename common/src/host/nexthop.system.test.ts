/** The next-hop contract against the kernel's next hops, in a network namespace of its own (root). */
import { NetnsRunner, ProcessRunner } from "../exec/index.ts";
import { nexthopContract } from "./nexthop-contract.ts";
import { IpNexthops } from "./nexthop.ts";

const root = process.getuid?.() === 0;
nexthopContract(
  "kernel (netns)",
  async () => {
    const base = new ProcessRunner();
    const ns = `cwtest-nh-${process.pid}`;
    await base.run("ip", ["netns", "add", ns]);
    const run = new NetnsRunner(base, ns);
    await run.run("ip", ["-batch", "-"], {
      input:
        ["link add name cwnh0 type veth peer name cwnh1", "address add 10.9.0.1/24 dev cwnh0", "link set dev cwnh0 up", "link set dev cwnh1 up"].join("\n") +
        "\n",
    });
    return {
      nh: new IpNexthops(run),
      dev: "cwnh0",
      foreign: async (id) => void (await run.run("ip", ["nexthop", "replace", "id", String(id), "via", "10.9.0.9", "dev", "cwnh0"])),
      close: async () => void (await base.run("ip", ["netns", "del", ns], { allowFailure: true })),
    };
  },
  root ? undefined : "needs root",
);
