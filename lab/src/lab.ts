import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ValidationError } from "@causeway/api";
import { type CommandRunner, kube, ProcessRunner } from "@causeway/common";
import { BrokerConnection } from "@causeway/common/broker-client";
import { stopHa } from "./brokerha.ts";
import * as brokers from "./brokers.ts";
import { buildUnderlay } from "./build.ts";
import * as clusters from "./clusters.ts";
import { removePodResolvConfs } from "./dns.ts";
import * as kubeTier from "./kubetier.ts";
import { labCgroups, removeCgroups, unmountUnder } from "./nodes.ts";
import { restartPod, tagImageOnNodes } from "./realnodes.ts";
import { type UpOptions, upOptions } from "./options.ts";
import { LAB_ROOT, labMemoryDir, REPO_ROOT } from "./paths.ts";
import { alive, destroyNamespaces, type LabProcess, listNamespaces, startIn, stopProcess } from "./processes.ts";
import * as serviceOps from "./serviceops.ts";
import type { LabService } from "./services.ts";
import type { LabCluster, LabCore, LabState } from "./state.ts";
import * as status from "./status.ts";
import { brokerNs, LAB, validateLabName } from "./topology.ts";

/**
 * A lab: clusters of network namespaces on this host running the real Causeway processes. This
 * class is the facade; the broker, clusters, services and Kubernetes tier live in modules of their own.
 */
export class Lab implements LabCore {
  state: LabState;
  readonly run: CommandRunner;

  /** The checkout the lab runs its tools from. */
  readonly repoRoot = REPO_ROOT;

  private constructor(state: LabState, run: CommandRunner) {
    this.state = state;
    this.run = run;
  }

  static dirOf(name: string): string {
    return join(LAB_ROOT, name);
  }

  /** Builds a new lab; on any failure, removes everything it created and rethrows. */
  static async up(o: UpOptions = {}, run: CommandRunner = new ProcessRunner(30_000)): Promise<Lab> {
    const opts = upOptions(o); // validated before anything is touched
    const { name, cable, intraCluster, clusters: count, nodes, pods, nat, mtu, brokerReplicas } = opts;
    const dir = Lab.dirOf(name);
    if (existsSync(join(dir, "state.json")) || (await listNamespaces(run, `${name}-`)).length) {
      throw new ValidationError(`lab "${name}" already exists; run 'causeway lab down --name ${name}' first`);
    }
    mkdirSync(dir, { recursive: true });
    const lab = new Lab(
      {
        name,
        dir,
        cable,
        intraCluster,
        nat,
        ...optionalState(opts),
        nodeBin: process.execPath,
        broker: {
          ns: brokerNs(name),
          address: `${LAB.brokerIp}:${LAB.brokerPort}`,
          socket: `unix://${join(dir, "broker.sock")}`,
          adminTokenFile: join(dir, "admin-token"),
        },
        clusters: [],
      },
      run,
    );
    try {
      await buildUnderlay(run, name, lab.state.broker.ns, mtu);
      if (brokerReplicas) await brokers.buildHa(lab, brokerReplicas, mtu, { replicaHosts: !o.kube });
      if (o.brokerTls) brokers.makeBrokerTls(lab);
      if (o.kube)
        await kubeTier.upKube(lab, { count, nodes, pods, kubeProxyMode: o.kubeProxyMode ?? "iptables", cni: o.cni ?? "bridge", install: o.install !== false });
      else await clusters.upStandalone(lab, { count, nodes, pods, deferDns: o.deferDns === true });
      return lab;
    } catch (err) {
      // CAUSEWAY_LAB_KEEP_FAILED=1 leaves a lab that failed to come up for inspection ('lab down' removes it).
      if (process.env.CAUSEWAY_LAB_KEEP_FAILED !== "1") await Lab.down(name, run);
      throw err;
    }
  }

  /** Opens an existing lab by name (or the only one there is). */
  static open(name?: string, run: CommandRunner = new ProcessRunner(30_000)): Lab {
    const names = Lab.list();
    const pick = name ?? (names.length === 1 ? names[0] : undefined);
    if (!pick) {
      throw new ValidationError(names.length ? `several labs exist (${names.join(", ")}); pass --name` : "no lab is running; start one with 'causeway lab up'");
    }
    const file = join(Lab.dirOf(pick), "state.json");
    if (!existsSync(file)) throw new ValidationError(`no lab named "${pick}"; labs: ${names.join(", ") || "none"}`);
    return new Lab(JSON.parse(readFileSync(file, "utf8")) as LabState, run);
  }

  static list(): string[] {
    if (!existsSync(LAB_ROOT)) return [];
    return readdirSync(LAB_ROOT).filter((n) => existsSync(join(LAB_ROOT, n, "state.json")));
  }

  /** Removes every namespace, process and file of the lab, found by name prefix (works after a crash). */
  static async down(name: string, run: CommandRunner = new ProcessRunner(30_000)): Promise<{ namespaces: number }> {
    validateLabName(name);
    const file = join(Lab.dirOf(name), "state.json");
    if (existsSync(file)) {
      const st = JSON.parse(readFileSync(file, "utf8")) as LabState;
      const procs = [...st.clusters.flatMap((c) => c.processes), ...(st.broker.process ? [st.broker.process] : [])];
      // Real nodes: kubelets first, so that nothing restarts the containers about to be killed.
      const first = procs.filter((p) => p.role.startsWith("kubelet/"));
      await Promise.all(first.map((p) => stopProcess(p.pid, 1000)));
      await Promise.all(procs.filter((p) => !first.includes(p)).map((p) => stopProcess(p.pid, 1000)));
      if (st.broker.ha) await stopHa(st.broker.ha);
    }
    // Real nodes' containers (found by their cgroups, after a crash too), before their namespaces go.
    await removeCgroups(labCgroups(name));
    const names = await listNamespaces(run, `${name}-`);
    await destroyNamespaces(run, names);
    await unmountUnder(run, Lab.dirOf(name));
    removePodResolvConfs(names);
    clusters.removeWireGuardSockets(name);
    rmSync(Lab.dirOf(name), { recursive: true, force: true });
    rmSync(labMemoryDir(name), { recursive: true, force: true });
    return { namespaces: names.length };
  }

  save(): void {
    writeFileSync(join(this.state.dir, "state.json"), `${JSON.stringify(this.state, null, 2)}\n`);
  }

  /** An admin connection through a broker's socket (with replicas: the first one running, or `replica`). */
  admin(replica?: number): BrokerConnection {
    const b = this.state.broker;
    const live = b.ha?.replicas.find((r) => (replica ? r.index === replica : r.process && alive(r.process.pid)));
    const tls = b.adminTls ? { ca: readFileSync(b.adminTls.caFile, "utf8"), serverName: b.adminTls.serverName } : {};
    return new BrokerConnection({ address: live?.socket ?? b.socket, token: readFileSync(b.adminTokenFile, "utf8").trim(), ...tls });
  }

  /** An admin client for a cluster's API server (Kubernetes tier), through the lab socket. */
  kubeClient(id: string): Promise<kube.KubeClient> {
    const api = this.state.kube?.apis[id];
    if (!api) throw new ValidationError(`cluster ${id} has no API server (the lab was not started with --kube)`);
    return kube.KubeClient.connect({ kubeconfig: api.kubeconfig, context: id });
  }

  cluster(id: string): LabCluster {
    const c = this.state.clusters.find((x) => x.spec.id === id);
    if (!c) throw new ValidationError(`no cluster ${id} in lab ${this.state.name}; clusters: ${this.state.clusters.map((x) => x.spec.id).join(", ")}`);
    return c;
  }

  /** (Re)starts broker replica `index` (backend nats) and waits until it answers. */
  startReplica = (index: number): Promise<void> => brokers.startReplica(this, index);
  /** Starts the broker again after it stopped or was killed (every replica that is not running, with replicas). */
  restartBroker = (): Promise<void> => brokers.restartBroker(this);
  /** Restarts NATS node `index` (1..3) of a nats-backed lab. */
  startNatsNode = (index: number): Promise<void> => brokers.startNatsNode(this, index);
  /** Builds one more cluster, joins it to the broker and starts its processes. */
  /** One more cluster; in a globalnet lab `distinctCidrs` gives it CIDRs of its own instead of kind's. */
  addCluster = (o: clusters.AddClusterOptions = {}): Promise<LabCluster> => (this.state.kube ? kubeTier.addKubeCluster(this, o) : clusters.addCluster(this, o));
  /** Starts the DNS of every cluster that has none (a lab brought up with deferDns); later clusters get theirs as they come. */
  startDns = (): Promise<void> => clusters.startDeferredDns(this);
  /** The cluster leaves the clusterset (broker records removed first, so peers drop their routes), then its namespaces go. */
  removeCluster = (clusterId: string): Promise<void> => clusters.removeCluster(this, clusterId);
  /** Kubernetes tier: `causeway join` for a cluster, run from the broker's namespace. */
  joinCluster = (id: string, extra: readonly string[] = []) => kubeTier.joinCluster(this, id, extra);
  /** `lab service add`. */
  addService = (ref: string, o: { pods?: number; port?: number; headless?: boolean } = {}): Promise<LabService> => serviceOps.addService(this, ref, o);
  /** `lab service scale`. */
  scaleService = (ref: string, pods: number): Promise<LabService> => serviceOps.scaleService(this, ref, pods);
  /** `lab service delete`. */
  removeService = (ref: string): Promise<void> => serviceOps.removeService(this, ref);
  /** Each cluster's active gateway's connections (status and message per remote cluster). */
  connections = () => status.connections(this);
  /** Waits until every cluster's gateway reports a connected cable to every other cluster. */
  waitConnected = (timeoutMs = 60_000): Promise<void> => status.waitConnected(this, timeoutMs);
  /** Every process the lab started, and whether it is alive. */
  processStatus = () => status.processStatus(this);

  /** Restarts one component process (e.g. a route agent) in place; on real nodes, its pod is deleted and its replacement awaited. */
  async restart(clusterId: string, role: string): Promise<LabProcess | undefined> {
    const c = this.cluster(clusterId);
    if (this.state.kube && /^(gateway|route-agent|lighthouse)\//.test(role)) {
      const client = await this.kubeClient(clusterId);
      try {
        await restartPod(client, role);
      } finally {
        client.close();
      }
      return undefined;
    }
    const i = c.processes.findIndex((p) => p.role === role);
    const old = c.processes[i];
    if (!old) throw new ValidationError(`no process ${role} in ${clusterId}; roles: ${c.processes.map((p) => p.role).join(", ")}`);
    await stopProcess(old.pid);
    const fresh = startIn(old.ns, old.role, old.argv, old.log, old.env, { nsenter: old.nsenter === true });
    c.processes[i] = fresh;
    this.save();
    return fresh;
  }

  /** Real nodes: Causeway's image tagged `ref` too in the containerd of every node of `clusters` (default: all), as if the nodes had pulled it under that name. */
  tagImage = (ref: string, clusters: readonly string[] = this.state.clusters.map((c) => c.spec.id)): Promise<void> => tagImageOnNodes(this, ref, clusters);

  /** Standalone: starts the gateway of a gateway node that has none running (one stopped with `stop`): a gateway added to a running cluster. */
  startGateway(clusterId: string, node: string): LabProcess {
    const c = this.cluster(clusterId);
    const n = c.spec.nodes.find((x) => x.name === node);
    if (this.state.kube || !n?.gateway) throw new ValidationError(`${clusterId}/${node} is not a gateway node of a standalone lab`);
    if (c.processes.some((p) => p.role === `gateway/${node}`)) throw new ValidationError(`${clusterId}/${node} runs its gateway already`);
    const p = clusters.startGateway(this.state, c, n);
    this.save();
    return p;
  }

  /** Stops one component process (SIGTERM, so it shuts down gracefully) and forgets it. */
  async stop(clusterId: string, role: string): Promise<void> {
    const c = this.cluster(clusterId);
    const p = c.processes.find((x) => x.role === role);
    if (!p) throw new ValidationError(`no process ${role} in ${clusterId}; roles: ${c.processes.map((x) => x.role).join(", ")}`);
    await stopProcess(p.pid);
    c.processes.splice(c.processes.indexOf(p), 1);
    this.save();
  }

  /** Resolves "c1", "c1/n1" or "c1/n1/p0" to its namespace and address. */
  resolve(target: string): { ns: string; ip: string } {
    const [cid = "", nodeName, podName] = target.split("/");
    const c = this.cluster(cid);
    if (!nodeName) {
      const gw = c.spec.nodes.find((n) => n.gateway);
      return { ns: gw?.ns ?? "", ip: gw?.underlayIp ?? "" };
    }
    const n = c.spec.nodes.find((x) => x.name === nodeName);
    if (!n) throw new ValidationError(`no node ${nodeName} in ${cid}; nodes: ${c.spec.nodes.map((x) => x.name).join(", ")}`);
    if (!podName) return { ns: n.ns, ip: n.lanIp };
    const p = n.pods.find((x) => x.name === podName);
    if (!p) throw new ValidationError(`no pod ${podName} on ${cid}/${nodeName}; pods: ${n.pods.map((x) => x.name).join(", ")}`);
    return { ns: p.ns, ip: p.ip };
  }

  /** Runs a command inside a lab namespace; resolves with its result (never throws on exit code). */
  exec(target: string, argv: readonly string[], timeoutMs = 30_000) {
    const { ns } = this.resolve(target);
    return this.run.run("ip", ["netns", "exec", ns, ...argv], { allowFailure: true, timeoutMs });
  }
}

/** The lab state's optional fields, present only when they differ from the defaults (labs made before them read the same). */
function optionalState(o: ReturnType<typeof upOptions>): Partial<LabState> {
  return {
    ...(o.mtu ? { mtu: o.mtu } : {}),
    ...(o.gateways > 1 ? { gateways: o.gateways } : {}),
    ...(o.gatewayMode === "active-active" ? { gatewayMode: o.gatewayMode } : {}),
    ...(o.gatewayFlags.length ? { gatewayFlags: o.gatewayFlags } : {}),
    ...(o.lighthouseFlags.length ? { lighthouseFlags: o.lighthouseFlags } : {}),
    ...(o.globalnet ? { globalnet: true } : {}),
  };
}
