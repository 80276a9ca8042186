/** The pinger contract against iputils ping and the kernel, in two network namespaces (root). */
import { execFileSync } from "node:child_process";
import { pingerContract } from "./pinger-contract.ts";
import { icmpPinger } from "./pinger.ts";

const root = process.getuid?.() === 0;
const SOURCE = "198.18.250.3";

pingerContract(
  "ping in a network namespace",
  async () => {
    const [a, b] = [`cwtpa${process.pid}`, `cwtpb${process.pid}`];
    const sh = (...args: string[]) => execFileSync(args[0] ?? "", args.slice(1), { stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" });
    const close = async () => {
      for (const ns of [a, b]) sh("sh", "-c", `ip netns del ${ns} 2>/dev/null || true`);
    };
    try {
      sh("ip", "netns", "add", a);
      sh("ip", "netns", "add", b);
      sh("ip", "link", "add", "cwtp0", "netns", a, "type", "veth", "peer", "name", "cwtp1", "netns", b);
      // .1 is the address the kernel picks towards b; .3 a secondary one, used only when asked for.
      sh("ip", "-n", a, "addr", "add", "198.18.250.1/24", "dev", "cwtp0");
      sh("ip", "-n", a, "addr", "add", `${SOURCE}/24`, "dev", "cwtp0");
      sh("ip", "-n", b, "addr", "add", "198.18.250.2/24", "dev", "cwtp1");
      sh("ip", "-n", a, "link", "set", "cwtp0", "up");
      sh("ip", "-n", b, "link", "set", "cwtp1", "up");
      // A rule without a target only counts: echo requests b receives from SOURCE.
      sh("ip", "netns", "exec", b, "iptables", "-w", "-A", "INPUT", "-p", "icmp", "--icmp-type", "echo-request", "-s", SOURCE);
    } catch (err) {
      await close();
      throw err;
    }
    return {
      pinger: icmpPinger({ netns: a }),
      reachable: "198.18.250.2",
      unroutable: "198.19.250.9",
      source: SOURCE,
      async probesFrom(from) {
        const out = sh("ip", "netns", "exec", b, "iptables", "-w", "-L", "INPUT", "-v", "-n", "-x");
        const line = out.split("\n").find((l) => l.includes(from) && l.includes("icmptype 8"));
        return Number(line?.trim().split(/\s+/)[0] ?? 0);
      },
      async drop(on) {
        sh("ip", "netns", "exec", b, "iptables", "-w", on ? "-A" : "-D", "INPUT", "-p", "icmp", "-j", "DROP");
      },
      close,
    };
  },
  root ? undefined : "needs root (network namespaces)",
);
