#!/usr/bin/env node
/** causeway-gateway: flags → site file → cable driver registry → GatewayEngine. */
import { errorMessage } from "@causeway/api";
import { parseArgs } from "node:util";
import { BrokerConnection, cniIpOf, createLogger, host, loadSite, ProcessRunner, readToken, resyncMsFromFlag, siteNode } from "@causeway/common";
import { CableDrivers } from "./cable/driver.ts";
import { VxlanCableDriver } from "./cable/vxlan.ts";
import { GatewayEngine } from "./engine.ts";

const VERSION = "0.1.0";
const { values } = parseArgs({
  options: {
    site: { type: "string" },
    node: { type: "string" },
    "private-ip": { type: "string" },
    uninstall: { type: "boolean", default: false },
    "resync-seconds": { type: "string", default: "30" },
  },
});
const boot = createLogger("causeway-gateway");
try {
  if (!values.site || !values.node) throw new Error("usage: causeway-gateway --site <site.yaml> --node <name> [--private-ip IP] [--uninstall]");
  const site = loadSite(values.site);
  const node = siteNode(site, values.node);
  if (!node.gateway) throw new Error(`node ${node.name} is not a gateway node in ${values.site} (set gateway: true)`);
  const log = boot.child({ cluster: site.clusterId, node: node.name });
  const resyncMs = resyncMsFromFlag(values["resync-seconds"]);
  const runner = new ProcessRunner();
  const adapters = host.realHostAdapters(runner);
  const drivers = new CableDrivers({ vxlan: () => new VxlanCableDriver(adapters) });
  // Checked before anything touches the host: an unknown driver leaves no half-configured state.
  const driver = drivers.create(site.cableDriver);
  // The private IP is the source the kernel picks towards the broker (a route lookup; nothing is sent).
  const brokerHost = /^([\d.]+):\d+$/.exec(site.broker.address)?.[1];
  const towards = brokerHost ? await adapters.net.mtuTowards(brokerHost) : undefined;
  const privateIp = values["private-ip"] ?? towards?.src ?? node.ip;
  const underlay = await adapters.net.interfaceOf(privateIp);
  if (!underlay && !values.uninstall) {
    throw new Error(`private IP ${privateIp} is on no interface of this host; check --private-ip, --node and the site file`);
  }
  const conn = new BrokerConnection({ address: site.broker.address, token: readToken(site.broker.tokenFile) });
  const engine = new GatewayEngine({
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
  if (values.uninstall) {
    await engine.uninstall();
    log.info("removed cables, endpoint and status");
    process.exit(0);
  }
  engine.start();
  log.info({ driver: driver.name, privateIp, broker: site.broker.address, mtu: underlay?.mtu }, "gateway started");
  for (const sig of ["SIGTERM", "SIGINT"] as const) {
    process.once(sig, () => void engine.stop().then(() => process.exit(0)));
  }
} catch (err) {
  boot.fatal({ err: errorMessage(err) }, "gateway cannot start");
  process.exit(2);
}
