import type { Command } from "commander";

/** `causeway corefile`: the CoreDNS server blocks that forward the clusterset zones to Causeway's DNS server, for setups Causeway does not configure itself. */
export function dnsCommands(program: Command): void {
  program
    .command("corefile")
    .description("print the CoreDNS stanza that forwards clusterset.local (and --zones) to Causeway's DNS server")
    .requiredOption("--dns <ip>", "the address of Causeway's DNS server (causeway-lighthouse)")
    .option("--zones <zones>", "zones to forward, comma-separated", "clusterset.local")
    .action(async (o: { dns: string; zones: string }) => {
      const { isIPv4, ValidationError } = await import("@causeway/api");
      const { corednsStanza } = await import("@causeway/common");
      if (!isIPv4(o.dns)) throw new ValidationError(`--dns must be an IPv4 address, got "${o.dns}"`);
      const zones = o.zones
        .split(",")
        .map((z) => z.trim())
        .filter(Boolean);
      console.log(corednsStanza(o.dns, zones));
    });
}
