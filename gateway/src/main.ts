#!/usr/bin/env node
/**
 * causeway-gateway: flags → mode → cable driver registry → engine.
 * Standalone: --site <file> --node <name>. Kubernetes: --kube (a DaemonSet pod; see runKubeMain).
 */
import { BrokerConnection, cniIpOf, host, kube, ProcessRunner, readToken, runKubeMain, runSiteMain, view } from "@causeway/common";
import { CableDrivers } from "./cable/driver.ts";
import { VxlanCableDriver } from "./cable/vxlan.ts";
import { GatewayEngine } from "./engine.ts";
import { KubeGateway } from "./kube.ts";

const VERSION = "0.1.0";

/** The host's adapters, the driver (checked before anything touches the host), and the underlay of the private IP. */
async function prepare(driverName: string, brokerAddress: string, privateIpFlag: string | undefined, fallbackIp: string, uninstall: boolean) {
  const adapters = host.realHostAdapters(new ProcessRunner());
  const drivers = new CableDrivers({ vxlan: () => new VxlanCableDriver(adapters) });
  const driver = drivers.create(driverName);
  // The private IP is the source the kernel picks towards the broker (a route lookup; nothing is sent).
  const brokerHost = /^([\d.]+):\d+$/.exec(brokerAddress)?.[1];
  const towards = brokerHost ? await adapters.net.mtuTowards(brokerHost) : undefined;
  const privateIp = privateIpFlag ?? towards?.src ?? fallbackIp;
  const underlay = await adapters.net.interfaceOf(privateIp);
  if (!underlay && !uninstall) throw new Error(`private IP ${privateIp} is on no interface of this host; check --private-ip and --node`);
  return { driver, privateIp, mtu: underlay?.mtu ?? 1500 };
}

const seconds = (v: string | undefined, flag: string, dflt: number): number => {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${flag} must be a positive number of seconds, got "${v}"`);
  return n * 1000;
};

if (process.argv.includes("--kube")) {
  await runKubeMain({
    brokerToken: true,
    name: "causeway-gateway",
    options: {
      "private-ip": { type: "string" },
      "lease-duration": { type: "string" },
      "renew-deadline": { type: "string" },
      "retry-period": { type: "string" },
    },
    async build({ client, namespace, cluster, nodeName, log, resyncMs, uninstall, flag }) {
      const node = view.nodeFromObject(await client.get(kube.R.node, undefined, nodeName));
      if (typeof node === "string") throw new Error(`cannot run the gateway on this node: ${node}`);
      const election = {
        leaseDurationMs: seconds(flag("lease-duration"), "lease-duration", 15),
        renewDeadlineMs: seconds(flag("renew-deadline"), "renew-deadline", 10),
        retryPeriodMs: seconds(flag("retry-period"), "retry-period", 2),
      };
      const { driver, privateIp, mtu } = await prepare(cluster.cableDriver, cluster.brokerAddress, flag("private-ip"), node.ip, uninstall);
      const conn = new BrokerConnection({ address: cluster.brokerAddress, token: cluster.brokerToken });
      const component = new KubeGateway({
        client,
        namespace,
        cluster,
        nodeName,
        privateIp,
        healthCheckIp: cniIpOf(node),
        underlayMtu: mtu,
        driver,
        conn,
        log,
        version: VERSION,
        resyncMs,
        election,
      });
      return { component, started: { driver: driver.name, privateIp, mtu, ...election }, removed: "removed cables, endpoint and gateway status" };
    },
  });
} else {
  await runSiteMain({
    name: "causeway-gateway",
    usage: "[--private-ip IP]",
    options: { "private-ip": { type: "string" } },
    async build({ site, node, log, resyncMs, uninstall, flag }) {
      if (!node.gateway) throw new Error(`node ${node.name} is not a gateway node in the site file (set gateway: true)`);
      const { driver, privateIp, mtu } = await prepare(site.cableDriver, site.broker.address, flag("private-ip"), node.ip, uninstall);
      const conn = new BrokerConnection({ address: site.broker.address, token: readToken(site.broker.tokenFile) });
      const component = new GatewayEngine({
        site,
        nodeName: node.name,
        privateIp,
        healthCheckIp: cniIpOf(node),
        underlayMtu: mtu,
        view: new view.BrokerEndpointView(conn, log),
        sink: new view.BrokerGatewaySink(conn, site.clusterId),
        driver,
        log,
        version: VERSION,
        resyncMs,
      });
      return { component, started: { driver: driver.name, privateIp, mtu }, removed: "removed cables, endpoint and status" };
    },
  });
}
