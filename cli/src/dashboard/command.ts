/** `causeway dashboard`: a live, read-only page of the clusterset (issue 24). */
import type { Command } from "commander";

export function dashboardCommand(program: Command): void {
  program
    .command("dashboard")
    .description("serve a live, read-only page of the clusterset: clusters, gateways, cables, services and what changed (from the broker's watch)")
    .option("--broker <address>", "broker address (host:port or unix:///path); default: the running lab's")
    .option("--token-file <file>", "credential file for --broker")
    .option("--ca <file>", "the broker's CA (PEM) for --broker: TLS (or $CAUSEWAY_BROKER_CA)")
    .option("--lab <name>", "which lab, when several run")
    .option("--listen <host:port>", "where the page is served; an address other than loopback needs --token", "127.0.0.1:8099")
    .option("--token <token>", "a token the page asks for, sent by it with every data request (or $CAUSEWAY_DASHBOARD_TOKEN)")
    .action(async (o: { broker?: string; tokenFile?: string; ca?: string; lab?: string; listen: string; token?: string }) => {
      const { connectBroker } = await import("../broker.ts");
      const { createLogger } = await import("@causeway/common");
      const { BrokerFeed } = await import("./feed.ts");
      const { dashboardPage } = await import("./build.ts");
      const { Dashboard } = await import("./server.ts");
      const token = o.token ?? process.env.CAUSEWAY_DASHBOARD_TOKEN;
      const page = await dashboardPage();
      const conn = await connectBroker(o);
      const log = createLogger("causeway-dashboard", {}, "warn");
      const d = await Dashboard.start({ listen: o.listen, ...(token ? { token } : {}), feed: new BrokerFeed(conn, log), page }).catch((err: unknown) => {
        conn.close();
        throw err;
      });
      process.stdout.write(`Causeway dashboard on ${d.url} (broker ${conn.address}); Ctrl-C stops it\n`);
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
      });
      await d.close();
      conn.close();
    });
}
