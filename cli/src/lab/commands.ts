import { spawnSync } from "node:child_process";
import type { IntraClusterMode } from "@causeway/common";
import type { GatewayMode } from "@causeway/api";
import { type Lab, labModule } from "../labs.ts";
import { type Command, InvalidArgumentError } from "commander";

/** The lab, loaded when a lab command runs (the CLI starts without it). */
const labClass = async () => (await labModule()).Lab;

const int = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n)) throw new InvalidArgumentError(`not a whole number: ${v}`);
  return n;
};

function topology(lab: Lab) {
  const s = lab.state;
  return {
    name: s.name,
    cable: s.cable,
    intraCluster: s.intraCluster ?? "vxlan",
    ...(s.nat?.length ? { nat: s.nat } : {}),
    ...(s.mtu ? { underlayMtu: s.mtu } : {}),
    broker: {
      address: s.broker.address,
      socket: s.broker.socket,
      ...(s.broker.ha ? { backend: "nats", replicas: s.broker.ha.replicas.map((r) => r.ip), nats: s.broker.ha.nats.map((n) => n.ip) } : {}),
    },
    clusters: s.clusters.map((c) => ({
      id: c.spec.id,
      podCIDR: c.spec.podCidr,
      serviceCIDR: c.spec.serviceCidr,
      nodes: c.spec.nodes.map((n) => ({
        name: n.name,
        ip: n.lanIp,
        underlayIp: n.underlayIp,
        ...(n.publicIp && n.publicIp !== n.underlayIp ? { publicIp: n.publicIp } : {}),
        gateway: n.gateway,
        pods: n.pods.map((p) => ({ name: p.name, ip: p.ip })),
      })),
      services: c.spec.services,
    })),
  };
}

async function printTopology(lab: Lab, json: boolean): Promise<void> {
  if (json) {
    console.log(JSON.stringify({ ...topology(lab), processes: lab.processStatus() }, null, 2));
    return;
  }
  const { stringify } = await import("yaml");
  console.log(stringify(topology(lab)).trimEnd());
  const dead = lab.processStatus().filter((p) => !p.alive);
  console.log(dead.length ? `✗ not running: ${dead.map((p) => `${p.cluster}/${p.role}`).join(", ")}` : `✓ all ${lab.processStatus().length} processes running`);
}

export function labCommands(program: Command): void {
  const lab = program.command("lab").description("local clusters made of network namespaces, running the real Causeway processes");
  lab
    .command("up")
    .description("build a lab: N clusters of M nodes, a broker, gateways and route agents")
    .option("--clusters <n>", "number of clusters", int, 2)
    .option("--nodes <m>", "nodes per cluster, n0 the gateway (default 3; with --kube 2, real nodes being heavier)", int)
    .option(
      "--gateways <k>",
      "gateway candidates per cluster (n0..n(k-1); one is active, the others take over — or all active with --gateway-mode active-active)",
      int,
      1,
    )
    .option(
      "--gateway-mode <mode>",
      "active-passive (one active gateway per cluster) or active-active (every gateway carries traffic, flows spread over them)",
      "active-passive",
    )
    .option("--pods <p>", "pods per node", int, 1)
    .option("--cable <driver>", "cable driver: vxlan or wireguard", "vxlan")
    .option("--nat <clusters>", "clusters whose gateway sits behind a NAT router (comma-separated, e.g. c2)", (v: string, prev: string[] = []) => [
      ...prev,
      ...v
        .split(",")
        .map((x) => x.trim())
        .filter(Boolean),
    ])
    .option("--mtu <bytes>", "underlay MTU (default 1500)", int)
    .option("--health-check-interval <seconds>", "gateways probe remote gateways this often (≥ 0.1; default 1)", Number)
    .option("--health-check-max-packet-loss-count <n>", "unanswered probes in a row that mark a connection error (default 5)", int)
    .option("--intra-cluster <mode>", "how non-gateway nodes reach the gateway: vxlan (vx-causeway) or direct (plain routes)", "vxlan")
    .option("--name <prefix>", "lab name, prefixes every namespace", "cw")
    .option("--broker-backend <backend>", "the broker's store: sqlite (one broker) or nats (a 3-node NATS JetStream cluster and several brokers)", "sqlite")
    .option("--broker-tls", "the broker serves TLS (a CA and certificate made for its addresses; components get the CA)")
    .option("--broker-replicas <n>", "broker replicas on the NATS bucket (with --broker-backend nats; default 3)", int)
    .option(
      "--kube",
      "Kubernetes tier: a control plane per cluster and real nodes (containerd, kubelet, kube-proxy each); Causeway installed with deploy-broker and join, run as pods from its image",
    )
    .option("--kube-proxy-mode <mode>", "with --kube: kube-proxy's mode, iptables or nftables (default iptables)")
    .option(
      "--cni <cni>",
      "with --kube: the pod network, bridge (Debian's CNI plugins, the lab's routes) or flannel (VXLAN; built from its Go module) (default bridge)",
    )
    .option(
      "--globalnet",
      "overlapping CIDRs: every cluster gets kind's defaults (pods 10.244.0.0/16, services 10.96.0.0/12) and the broker runs globalnet (a /16 of 242.0.0.0/8 per cluster)",
    )
    .option("--json", "print the topology as JSON")
    .action(
      async (o: {
        globalnet?: boolean;
        clusters: number;
        nodes?: number;
        pods: number;
        cable: string;
        intraCluster: string;
        name: string;
        kube?: boolean;
        kubeProxyMode?: string;
        cni?: string;
        json?: boolean;
        nat?: string[];
        mtu?: number;
        gateways: number;
        gatewayMode: string;
        healthCheckInterval?: number;
        healthCheckMaxPacketLossCount?: number;
        brokerBackend: string;
        brokerReplicas?: number;
        brokerTls?: boolean;
      }) => {
        const l = await (
          await labClass()
        ).up({
          name: o.name,
          clusters: o.clusters,
          nodes: o.nodes,
          pods: o.pods,
          cable: o.cable,
          intraCluster: o.intraCluster as IntraClusterMode,
          kube: Boolean(o.kube),
          ...(o.kubeProxyMode !== undefined ? { kubeProxyMode: o.kubeProxyMode as "iptables" | "nftables" } : {}),
          ...(o.cni !== undefined ? { cni: o.cni as "bridge" | "flannel" } : {}),
          nat: o.nat ?? [],
          mtu: o.mtu,
          gateways: o.gateways,
          gatewayMode: o.gatewayMode as GatewayMode,
          healthCheckInterval: o.healthCheckInterval,
          healthCheckMaxPacketLossCount: o.healthCheckMaxPacketLossCount,
          brokerBackend: o.brokerBackend as "sqlite" | "nats",
          ...(o.brokerReplicas !== undefined ? { brokerReplicas: o.brokerReplicas } : {}),
          ...(o.brokerTls ? { brokerTls: true } : {}),
          ...(o.globalnet ? { globalnet: true } : {}),
        });
        await l.waitConnected();
        if (!o.json)
          console.log(` ✓ lab "${o.name}" is up: ${o.clusters} clusters × ${l.state.clusters[0]?.spec.nodes.length ?? o.nodes} nodes, cables connected`);
        await printTopology(l, Boolean(o.json));
      },
    );
  lab
    .command("down")
    .description("remove everything the lab made (also after a crash)")
    .option("--name <prefix>", "lab name", "cw")
    .action(async (o: { name: string }) => {
      const r = await (await labClass()).down(o.name);
      console.log(` ✓ lab "${o.name}" removed (${r.namespaces} namespaces)`);
    });
  lab
    .command("status")
    .option("--name <prefix>", "lab name")
    .option("--json", "print as JSON")
    .action(async (o: { name?: string; json?: boolean }) => await printTopology((await labClass()).open(o.name), Boolean(o.json)));
  lab
    .command("ip <target>")
    .description("print the address of <cluster>/<node>[/<pod>]")
    .option("--name <prefix>", "lab name")
    .action(async (target: string, o: { name?: string }) => console.log((await labClass()).open(o.name).resolve(target).ip));
  lab
    .command("exec <target> <cmd...>")
    .description("run a command in <cluster>/<node>[/<pod>] (put it after --)")
    .option("--name <prefix>", "lab name")
    .action(async (target: string, cmd: string[], o: { name?: string }) => {
      const { ns } = (await labClass()).open(o.name).resolve(target);
      const r = spawnSync("ip", ["netns", "exec", ns, ...cmd], { stdio: "inherit" });
      process.exitCode = r.status ?? 1;
    });
  lab
    .command("kubeconfig <cluster>")
    .description("print the path of an admin kubeconfig for the cluster's API server (lab started with --kube)")
    .option("--name <prefix>", "lab name")
    .action(async (id: string, o: { name?: string }) => {
      const l = (await labClass()).open(o.name);
      const api = l.state.kube?.apis[id];
      if (!api)
        throw new (await import("@causeway/api")).ValidationError(
          `cluster ${id} has no API server in lab ${l.state.name}${l.state.kube ? `; clusters: ${Object.keys(l.state.kube.apis).join(", ")}` : " (start the lab with --kube)"}`,
        );
      console.log(api.kubeconfig);
      console.error(
        `# causeway commands use it from anywhere (through the lab socket); kubectl inside the lab: ip netns exec ${l.state.broker.ns} kubectl --kubeconfig ${api.kubeconfig} get nodes`,
      );
    });
  lab
    .command("add-cluster")
    .option("--nodes <m>", "nodes", int, 3)
    .option("--pods <p>", "pods per node", int, 1)
    .option("--distinct-cidrs", "in a --globalnet lab: CIDRs of its own (10.<n>.0.0/16) instead of kind's")
    .option("--name <prefix>", "lab name")
    .action(async (o: { nodes: number; pods: number; name?: string; distinctCidrs?: boolean }) => {
      const l = (await labClass()).open(o.name);
      const c = await l.addCluster({ nodes: o.nodes, pods: o.pods, ...(o.distinctCidrs ? { distinctCidrs: true } : {}) });
      await l.waitConnected();
      console.log(` ✓ cluster ${c.spec.id} joined and connected`);
    });
  lab
    .command("remove-cluster <cluster>")
    .option("--name <prefix>", "lab name")
    .action(async (id: string, o: { name?: string }) => {
      await (await labClass()).open(o.name).removeCluster(id);
      console.log(` ✓ cluster ${id} left the clusterset and was removed`);
    });
  const service = lab.command("service").description("services backed by lab pods that answer with their cluster and pod name (for discovery scenarios)");
  service
    .command("add <ref>")
    .description("add <cluster>/<namespace>/<name>: N new pods running a small HTTP server, a VIP (or --headless), listed where the cluster looks for services")
    .option("--pods <n>", "pods backing it", int, 1)
    .option("--port <p>", "the service's port (the pods listen on it)", int, 80)
    .option("--headless", "no VIP: DNS answers the pods' IPs")
    .option("--name <prefix>", "lab name")
    .action(async (ref: string, o: { pods: number; port: number; headless?: boolean; name?: string }) => {
      const svc = await (await labClass()).open(o.name).addService(ref, { pods: o.pods, port: o.port, headless: o.headless === true });
      const where = svc.vip ? `VIP ${svc.vip}:${svc.port}` : `headless, port ${svc.port}`;
      console.log(` ✓ service ${ref} (${where}) with ${svc.pods.length} pod(s): ${svc.pods.map((p) => `${p.name} ${p.ip}`).join(", ") || "none"}`);
      const [cluster, ns, name] = ref.split("/");
      console.log(`   export it: causeway export service ${name} -n ${ns} --context ${cluster}`);
    });
  service
    .command("scale <ref>")
    .description("set the number of pods of a lab service (0 stops them all)")
    .requiredOption("--pods <n>", "pods backing it", int)
    .option("--name <prefix>", "lab name")
    .action(async (ref: string, o: { pods: number; name?: string }) => {
      const svc = await (await labClass()).open(o.name).scaleService(ref, o.pods);
      console.log(` ✓ service ${ref} now has ${svc.pods.length} pod(s)${svc.pods.length ? `: ${svc.pods.map((p) => `${p.name} ${p.ip}`).join(", ")}` : ""}`);
    });
}
