/**
 * One active-active gateway candidate of Kubernetes mode (gateway KubeActiveGateway) as a process
 * of its own, on a fake host: what e2e/src/kube/activeactive.test.ts runs several of, kills -9 and
 * stops. Arguments: kubeconfig, broker address, broker token, node name, private IP. Logs JSON
 * lines on stdout; SIGTERM stops it gracefully.
 */
import { createLogger, host, kube } from "@causeway/common";
import { BrokerConnection } from "@causeway/common/broker-client";
import { KubeActiveGateway, VxlanCableDriver } from "@causeway/gateway";
import { SYSTEM_NAMESPACE } from "@causeway/api";

const [kubeconfig, broker, token, nodeName, privateIp] = process.argv.slice(2);
if (!kubeconfig || !broker || !token || !nodeName || !privateIp) throw new Error("usage: aagateway.ts KUBECONFIG BROKER TOKEN NODE PRIVATE_IP");
const log = createLogger("gateway", { node: nodeName }, "info");
const client = await kube.KubeClient.connect({ kubeconfig, timeoutMs: 2000 });
const conn = new BrokerConnection({ address: broker, token });
const gw = new KubeActiveGateway({
  client,
  namespace: SYSTEM_NAMESPACE,
  cluster: {
    clusterId: "c1",
    clusterCIDRs: ["10.1.0.0/16"],
    serviceCIDRs: ["10.101.0.0/16"],
    cableDriver: "vxlan",
    intraCluster: "vxlan",
    brokerAddress: broker,
    gatewayMode: "active-active",
    brokerToken: token,
    cableSecret: "",
    brokerCa: "",
  },
  nodeName,
  privateIp,
  natEnabled: false,
  healthCheckIp: privateIp,
  underlayMtu: 1500,
  driver: new VxlanCableDriver(host.fakeHostAdapters()),
  conn,
  log,
  version: "test",
  resyncMs: 30_000,
  election: { leaseDurationMs: 1000, renewDeadlineMs: 750, retryPeriodMs: 200 },
});
gw.start();
process.on("SIGTERM", () => {
  void gw.stop().finally(() => {
    conn.close();
    client.close();
    process.exit(0);
  });
});
