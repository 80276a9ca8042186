#!/usr/bin/env node
/** causeway-route-agent: flags → site file → RouteAgent. The only place that reads argv/env. */
import { errorMessage } from "@causeway/api";
import { parseArgs } from "node:util";
import { BrokerConnection, createLogger, host, loadSite, ProcessRunner, readToken, resyncMsFromFlag, siteNode } from "@causeway/common";
import { NodeIpNotFoundError, RouteAgent } from "./agent.ts";

const { values } = parseArgs({
  options: {
    site: { type: "string" },
    node: { type: "string" },
    uninstall: { type: "boolean", default: false },
    "resync-seconds": { type: "string", default: "30" },
  },
});
const boot = createLogger("causeway-route-agent");
try {
  if (!values.site || !values.node) throw new Error("usage: causeway-route-agent --site <site.yaml> --node <name> [--uninstall]");
  const site = loadSite(values.site);
  const node = siteNode(site, values.node);
  const log = boot.child({ cluster: site.clusterId, node: node.name });
  const resyncMs = resyncMsFromFlag(values["resync-seconds"]);
  const adapters = host.realHostAdapters(new ProcessRunner());
  // Checked before anything touches the host: a wrong --node would otherwise steer the wrong routes.
  if (!values.uninstall && !(await adapters.net.interfaceOf(node.ip))) throw new NodeIpNotFoundError(node);
  const conn = new BrokerConnection({ address: site.broker.address, token: readToken(site.broker.tokenFile) });
  const agent = new RouteAgent({
    site,
    node,
    conn,
    adapters,
    log,
    resyncMs,
  });
  if (values.uninstall) {
    await agent.uninstall();
    log.info("removed everything the route agent owned");
    process.exit(0);
  }
  agent.start();
  log.info({ broker: site.broker.address }, "route agent started");
  for (const sig of ["SIGTERM", "SIGINT"] as const) {
    process.once(sig, () => {
      // Leave routes and rules in place: a restart must not interrupt established flows.
      void agent.stop().then(() => process.exit(0));
    });
  }
} catch (err) {
  boot.fatal({ err: errorMessage(err) }, "route agent cannot start");
  process.exit(2);
}
