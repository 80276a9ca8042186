#!/usr/bin/env node
/** causeway-gateway: flags → site file → cable driver registry → GatewayEngine. */
import { BrokerConnection, cniIpOf, host, ProcessRunner, readToken, runSiteMain } from "@causeway/common";
import { CableDrivers } from "./cable/driver.ts";
import { VxlanCableDriver } from "./cable/vxlan.ts";
import { GatewayEngine } from "./engine.ts";

const VERSION = "0.1.0";

await runSiteMain({
  name: "causeway-gateway",
  usage: "[--private-ip IP]",
  options: { "private-ip": { type: "string" } },
  async build({ site, node, log, resyncMs, uninstall, flag }) {
    if (!node.gateway) throw new Error(`node ${node.name} is not a gateway node in the site file (set gateway: true)`);
    const adapters = host.realHostAdapters(new ProcessRunner());
    const drivers = new CableDrivers({ vxlan: () => new VxlanCableDriver(adapters) });
    // Checked before anything touches the host: an unknown driver leaves no half-configured state.
    const driver = drivers.create(site.cableDriver);
    // The private IP is the source the kernel picks towards the broker (a route lookup; nothing is sent).
    const brokerHost = /^([\d.]+):\d+$/.exec(site.broker.address)?.[1];
    const towards = brokerHost ? await adapters.net.mtuTowards(brokerHost) : undefined;
    const privateIp = flag("private-ip") ?? towards?.src ?? node.ip;
    const underlay = await adapters.net.interfaceOf(privateIp);
    if (!underlay && !uninstall) throw new Error(`private IP ${privateIp} is on no interface of this host; check --private-ip, --node and the site file`);
    const conn = new BrokerConnection({ address: site.broker.address, token: readToken(site.broker.tokenFile) });
    const component = new GatewayEngine({
      site,
      nodeName: node.name,
      privateIp,
      healthCheckIp: cniIpOf(node),
      underlayMtu: underlay?.mtu ?? 1500,
      conn,
      driver,
      log,
      version: VERSION,
      resyncMs,
    });
    return { component, started: { driver: driver.name, privateIp, mtu: underlay?.mtu }, removed: "removed cables, endpoint and status" };
  },
});
