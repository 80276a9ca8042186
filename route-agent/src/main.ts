#!/usr/bin/env node
/** causeway-route-agent: flags → site file → RouteAgent. The only place that reads argv/env. */
import { BrokerConnection, host, ProcessRunner, readToken, runSiteMain } from "@causeway/common";
import { NodeIpNotFoundError, RouteAgent } from "./agent.ts";

await runSiteMain({
  name: "causeway-route-agent",
  async build({ site, node, log, resyncMs, uninstall }) {
    const adapters = host.realHostAdapters(new ProcessRunner());
    // Checked before anything touches the host: a wrong --node would otherwise steer the wrong routes.
    if (!uninstall && !(await adapters.net.interfaceOf(node.ip))) throw new NodeIpNotFoundError(node);
    const conn = new BrokerConnection({ address: site.broker.address, token: readToken(site.broker.tokenFile) });
    // Stopping leaves routes and rules in place: a restart must not interrupt established flows.
    const component = new RouteAgent({ site, node, conn, adapters, log, resyncMs });
    return { component, started: { intraCluster: site.intraCluster }, removed: "removed everything the route agent owned" };
  },
});
