#!/usr/bin/env node
/**
 * causeway-route-agent: flags → mode → RouteAgent. The only place that reads argv/env.
 * Standalone: --site <file> --node <name>. Kubernetes: --kube (reads Nodes and Endpoints from the local API only).
 */
import { host, kube, METRICS_PORTS, ProcessRunner, runKubeMain, runSiteMain, view } from "@causeway/common";
import { NodeIpNotFoundError, RouteAgent } from "./agent.ts";
import { BrokerClustersetSource, KubeClustersetSource } from "./clusterset.ts";
import { routeAgentMetrics } from "./metrics.ts";
import { ValidationError } from "@causeway/api";

const removed = "removed everything the route agent owned";

if (process.argv.includes("--kube")) {
  await runKubeMain({
    brokerToken: false,
    name: "causeway-route-agent",
    metricsPort: METRICS_PORTS.routeAgent,
    async build({ client, namespace, cluster, nodeName, log, resyncMs, uninstall, registry }) {
      const adapters = host.realHostAdapters(new ProcessRunner());
      // Before anything touches the host: the node's iptables backend (none: a clear error, exit 2).
      await adapters.filter.preflight?.();
      const node = view.nodeFromObject(await client.get(kube.R.node, undefined, nodeName));
      if (typeof node === "string") throw new ValidationError(`cannot route on this node: ${node}`);
      if (!uninstall && !(await adapters.net.interfaceOf(node.ip))) throw new NodeIpNotFoundError(node);
      const component = new RouteAgent({
        site: cluster,
        node,
        endpoints: new view.KubeEndpointView(client, namespace, log),
        nodes: new view.KubeNodeView(client, log),
        clusterset: new KubeClustersetSource(client, namespace, cluster.clusterId, log),
        adapters,
        log,
        resyncMs,
      });
      routeAgentMetrics(registry, component);
      return { component, started: { intraCluster: cluster.intraCluster }, removed };
    },
  });
} else {
  await runSiteMain({
    name: "causeway-route-agent",
    metricsPort: METRICS_PORTS.routeAgent,
    async build({ site, node, log, resyncMs, uninstall, registry }) {
      const adapters = host.realHostAdapters(new ProcessRunner());
      await adapters.filter.preflight?.();
      // Checked before anything touches the host: a wrong --node would otherwise steer the wrong routes.
      if (!uninstall && !(await adapters.net.interfaceOf(node.ip))) throw new NodeIpNotFoundError(node);
      // The broker's gRPC client only in standalone mode: in Kubernetes mode it is never loaded (~20 MiB less resident).
      const { siteBrokerConnection } = await import("@causeway/common/broker-client");
      const conn = siteBrokerConnection(site.broker);
      // Stopping leaves routes and rules in place: a restart must not interrupt established flows.
      // Endpoints; exports, gateway statuses and cluster records for the clusterset IPs.
      const endpoints = new view.BrokerEndpointView(conn, log, ["endpoint", "export", "gateway", "cluster"]);
      const clusterset = new BrokerClustersetSource(endpoints, site.clusterId);
      const component = new RouteAgent({ site, node, endpoints, nodes: new view.StaticNodeView(site.nodes), clusterset, adapters, log, resyncMs });
      routeAgentMetrics(registry, component);
      return { component, started: { intraCluster: site.intraCluster }, removed };
    },
  });
}
