import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { type Cluster, errorMessage, SYSTEM_NAMESPACE, ValidationError } from "@causeway/api";
import { BrokerConnection, type CommandRunner, INTRA_CLUSTER_MODES, type IntraClusterMode, kube, NetnsRunner, ProcessRunner } from "@causeway/common";
import { deployBroker, lighthouseDnsIp } from "@causeway/deploy";
import { checkHealthSettings, SUPPORTED_CABLE_DRIVERS, UnknownCableDriverError } from "@causeway/gateway";
import { stringify as toYaml } from "yaml";
import { buildCluster, buildUnderlay } from "./build.ts";
import {
  buildReplicaHosts,
  haAddress,
  haNatsUrls,
  haPlan,
  type LabBrokerHa,
  type LabTlsFiles,
  MAX_BROKER_REPLICAS,
  NATS_USER,
  startNatsCluster,
  startNatsNode,
  startReplica,
  stopHa,
  writeLabPki,
} from "./brokerha.ts";
import { applyLabService, buildApi, finalizeNamespaces, type LabApi, registerCluster, placedWorkloads, runBrokerDeployment, runWorkloads } from "./kube.ts";
import { alive, destroyNamespaces, type LabProcess, listNamespaces, startIn, stopProcess } from "./processes.ts";
import { buildDnsPod, clusterDnsSpec, clusterZone, coreDnsBinary, dnsServiceRules, labCorefile, removePodResolvConfs, writePodResolvConf } from "./dns.ts";
import { addPodNetworks, applyServiceRules, type LabService, MAX_SERVICE_PODS, nextVip, parseServiceRef, planPods, siteServiceOf } from "./services.ts";
import { brokerNs, type ClusterSpec, clusterSpec, LAB, validateLabName, wholeInRange } from "./topology.ts";

export const REPO_ROOT = resolve(import.meta.dirname, "../../..");
export const LAB_ROOT = process.env.CAUSEWAY_LAB_DIR ?? "/run/causeway-lab";

export interface LabCluster {
  readonly spec: ClusterSpec;
  readonly siteFile: string;
  readonly tokenFile: string;
  readonly processes: LabProcess[];
  /** Services made with `causeway lab service add`. */
  services?: LabService[];
  /** The cluster's CoreDNS pod (standalone labs): cluster.local, clusterset.local forwarded to the lighthouse. */
  dns?: { readonly ns: string; readonly ip: string; readonly zoneFile: string; serial: number };
}

export interface LabState {
  readonly name: string;
  readonly dir: string;
  readonly cable: string;
  /** How non-gateway nodes reach their gateway (site file intraCluster); vxlan in labs made before it existed. */
  readonly intraCluster?: IntraClusterMode;
  /** Clusters whose gateway sits behind a NAT router. */
  readonly nat?: readonly string[];
  /** The underlay's MTU when not 1500. */
  readonly mtu?: number;
  /** Gateway candidates per cluster when more than one (n0..n(k-1)). */
  readonly gateways?: number;
  /** Flags every gateway gets beyond --site and --node (health-check settings). */
  readonly gatewayFlags?: readonly string[];
  readonly nodeBin: string;
  readonly broker: {
    readonly ns: string;
    /** What components dial: host:port, or every replica's host:port (backend nats). */
    address: string;
    readonly socket: string;
    readonly adminTokenFile: string;
    process?: LabProcess;
    /** Backend nats: the NATS cluster and the broker replicas (the first one is `process`). */
    ha?: LabBrokerHa;
    /** --broker-tls: the broker serves TLS on its underlay address(es); components check it against this CA. */
    tls?: LabTlsFiles;
  };
  readonly clusters: LabCluster[];
  /** Kubernetes tier: each cluster's API server, and the broker-info deploy-broker wrote. */
  kube?: { readonly apis: Record<string, LabApi>; brokerInfo: string };
}

export interface UpOptions {
  readonly name?: string;
  readonly clusters?: number;
  readonly nodes?: number;
  readonly pods?: number;
  readonly cable?: string;
  readonly intraCluster?: IntraClusterMode;
  /** Kubernetes tier: an API server per cluster; Causeway installed with deploy-broker + join and run as its DaemonSets describe. */
  readonly kube?: boolean;
  /** Cluster ids (c2, …) whose gateway sits behind a NAT router that masquerades it; its public IP is the router's. */
  readonly nat?: readonly string[];
  /** Underlay MTU (576..9000; default 1500). */
  readonly mtu?: number;
  /** Gateway candidates per cluster (default 1): nodes n0..n(k-1), one active at a time. */
  readonly gateways?: number;
  /** Gateways' health-check interval in seconds (≥ 0.1; the gateway's default 1 s when absent). */
  readonly healthCheckInterval?: number;
  /** Gateways' health-check loss threshold (≥ 1; default 5). */
  readonly healthCheckMaxPacketLoss?: number;
  /** The broker's store: sqlite (one broker, default) or nats (a 3-node NATS cluster and --broker-replicas brokers). */
  readonly brokerBackend?: "sqlite" | "nats";
  /** Broker replicas on the NATS bucket (1..3; default 3 with nats). */
  readonly brokerReplicas?: number;
  /** Standalone labs: the broker serves TLS (a CA and certificate made for its addresses); components get the CA in their site files. */
  readonly brokerTls?: boolean;
}

const script = (rel: string) => join(REPO_ROOT, rel);

/** A lab: clusters of network namespaces on this host running the real Causeway processes. */
export class Lab {
  state: LabState;
  readonly #run: CommandRunner;

  /** The checkout the lab runs its tools from. */
  readonly repoRoot = REPO_ROOT;

  private constructor(state: LabState, run: CommandRunner) {
    this.state = state;
    this.#run = run;
  }

  static dirOf(name: string): string {
    return join(LAB_ROOT, name);
  }

  /** Builds a new lab; on any failure, removes everything it created and rethrows. */
  static async up(o: UpOptions = {}, run: CommandRunner = new ProcessRunner(30_000)): Promise<Lab> {
    const { name, cable, intraCluster, clusters, nodes, pods, nat, mtu, gateways, gatewayFlags, brokerReplicas } = upOptions(o); // validated before anything is touched
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
        ...(mtu ? { mtu } : {}),
        ...(gateways > 1 ? { gateways } : {}),
        ...(gatewayFlags.length ? { gatewayFlags } : {}),
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
      if (brokerReplicas) await lab.#buildHa(brokerReplicas, mtu);
      if (o.brokerTls) lab.#makeBrokerTls();
      if (o.kube) {
        await lab.#upKube(clusters, nodes, pods);
        return lab;
      }
      // The clusterset's cable secret, as deploy-broker makes it for broker-info.
      writeFileSync(join(dir, "cable-secret"), `${randomBytes(48).toString("base64")}\n`, { mode: 0o600 });
      await lab.#startBroker();
      for (let i = 0; i < clusters; i++) await lab.addCluster({ nodes, pods });
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
      await Promise.all(procs.map((p) => stopProcess(p.pid, 1000)));
      if (st.broker.ha) await stopHa(st.broker.ha);
    }
    const names = await listNamespaces(run, `${name}-`);
    await destroyNamespaces(run, names);
    removePodResolvConfs(names);
    removeWireGuardSockets(name);
    rmSync(Lab.dirOf(name), { recursive: true, force: true });
    return { namespaces: names.length };
  }

  #save(): void {
    writeFileSync(join(this.state.dir, "state.json"), `${JSON.stringify(this.state, null, 2)}\n`);
  }

  /** An admin connection through a broker's socket (with replicas: the first one running, or `replica`). */
  admin(replica?: number): BrokerConnection {
    const b = this.state.broker;
    const live = b.ha?.replicas.find((r) => (replica ? r.index === replica : r.process && alive(r.process.pid)));
    return new BrokerConnection({ address: live?.socket ?? b.socket, token: readFileSync(b.adminTokenFile, "utf8").trim() });
  }

  /** --broker-tls: a CA and a certificate for every broker address (one certificate serves all replicas). */
  #makeBrokerTls(): void {
    const b = this.state.broker;
    const ips = b.ha ? b.ha.replicas.map((r) => r.ip) : [LAB.brokerIp];
    b.tls = writeLabPki(ips, {
      caFile: join(this.state.dir, "broker-ca.crt"),
      certFile: join(this.state.dir, "broker-tls.crt"),
      keyFile: join(this.state.dir, "broker-tls.key"),
    });
    this.#save();
  }

  /** Backend nats: the NATS cluster and the replicas' hosts; components dial every replica. */
  async #buildHa(replicas: number, mtu?: number): Promise<void> {
    const st = this.state;
    const ha = haPlan(st.name, st.dir, replicas, st.broker.ns);
    st.broker.ha = ha;
    st.broker.address = haAddress(ha);
    this.#save();
    await startNatsCluster(this.#run, st.name, st.dir, ha, mtu);
    await buildReplicaHosts(this.#run, st.name, ha, mtu);
    this.#save();
  }

  /** (Re)starts broker replica `index` (backend nats) and waits until it answers. */
  async startReplica(index: number): Promise<void> {
    const b = this.state.broker;
    const r = b.ha?.replicas.find((x) => x.index === index);
    if (!b.ha || !r) throw new ValidationError(`the lab has no broker replica ${index}`);
    const p = startReplica(this.state.nodeBin, script("broker/src/main.ts"), b.ha, r, b.adminTokenFile, this.state.dir, b.tls);
    if (index === 1) b.process = p;
    this.#save();
    await this.#waitBroker(r.socket, p);
  }

  /** Starts the broker again after it stopped or was killed (every replica that is not running, with replicas). */
  async restartBroker(): Promise<void> {
    const b = this.state.broker;
    if (!b.ha) {
      if (b.process && alive(b.process.pid)) return;
      await this.#startBroker();
      return;
    }
    for (const r of b.ha.replicas) if (!r.process || !alive(r.process.pid)) await this.startReplica(r.index);
  }

  /** Restarts NATS node `index` (1..3) of a nats-backed lab. */
  async startNatsNode(index: number): Promise<void> {
    const ha = this.state.broker.ha;
    const n = ha?.nats[index - 1];
    if (!ha || !n) throw new ValidationError(`the lab has no NATS node ${index}`);
    await startNatsNode(ha, n, this.state.dir, readFileSync(ha.passwordFile, "utf8").trim());
    this.#save();
  }

  async #startBroker(): Promise<void> {
    const b = this.state.broker;
    if (b.ha) {
      // The first replica writes the admin token; the others read it.
      for (const r of b.ha.replicas) await this.startReplica(r.index);
      return;
    }
    b.process = startIn(
      b.ns,
      "broker",
      [
        this.state.nodeBin,
        script("broker/src/main.ts"),
        "--listen",
        `0.0.0.0:${LAB.brokerPort}`,
        "--listen",
        b.socket,
        "--db",
        join(this.state.dir, "broker.db"),
        "--admin-token-file",
        b.adminTokenFile,
        ...(b.tls ? ["--tls-cert", b.tls.certFile, "--tls-key", b.tls.keyFile] : []),
      ],
      join(this.state.dir, "broker.log"),
    );
    this.#save();
    await this.#waitBroker();
  }

  async #waitBroker(socket = this.state.broker.socket, proc = this.state.broker.process): Promise<void> {
    const b = this.state.broker;
    if (!proc) throw new Error("the lab broker is not running");
    const end = Date.now() + 15_000;
    for (;;) {
      try {
        if (existsSync(b.adminTokenFile)) {
          const c = new BrokerConnection({ address: socket, token: readFileSync(b.adminTokenFile, "utf8").trim() });
          await c.whoAmI();
          c.close();
          return;
        }
      } catch {
        // not up yet
      }
      if (!alive(proc.pid)) throw new Error(`the lab broker exited; see ${proc.log}`);
      if (Date.now() > end) throw new Error(`the lab broker did not answer within 15 s; see ${join(this.state.dir, "broker.log")}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Builds one more cluster, joins it to the broker and starts its processes. */
  async addCluster(o: { nodes?: number; pods?: number } = {}): Promise<LabCluster> {
    const index = Math.max(0, ...this.state.clusters.map((c) => c.spec.index)) + 1;
    const spec = clusterSpec(this.state.name, index, o.nodes ?? 3, o.pods ?? 1, (this.state.nat ?? []).includes(`c${index}`), this.state.gateways ?? 1);
    const entry: LabCluster = {
      spec,
      siteFile: join(this.state.dir, `${spec.id}.site.yaml`),
      tokenFile: join(this.state.dir, `${spec.id}.token`),
      processes: [],
    };
    this.state.clusters.push(entry);
    this.#save();
    await buildCluster(this.#run, this.state.name, spec, this.state.mtu);
    const cluster: Cluster = { cluster_id: spec.id, cluster_cidr: [spec.podCidr], service_cidr: [spec.serviceCidr], global_cidr: [] };
    const admin = this.admin();
    try {
      const { token } = await admin.join(cluster);
      writeFileSync(entry.tokenFile, `${token}\n`, { mode: 0o600 });
    } finally {
      admin.close();
    }
    writeFileSync(entry.siteFile, toYaml(siteOf(entry, this.state)));
    this.#startClusterProcesses(entry);
    this.#save();
    await this.#startClusterDns(entry);
    this.#save();
    return entry;
  }

  /**
   * Kubernetes tier: per cluster an API server with the cluster's Nodes and Services; then, as a
   * user would, deploy-broker on the first cluster and join on each, and the processes the
   * applied workloads describe (the broker Deployment, the DaemonSets) started by the lab.
   */
  async #upKube(clusters: number, nodes: number, pods: number): Promise<void> {
    const st = this.state;
    st.kube = { apis: {}, brokerInfo: join(st.dir, "broker-info.subm") };
    for (let i = 1; i <= clusters; i++) {
      const spec = clusterSpec(st.name, i, nodes, pods, (st.nat ?? []).includes(`c${i}`), st.gateways ?? 1);
      const entry: LabCluster = { spec, siteFile: "", tokenFile: "", processes: [] };
      st.clusters.push(entry);
      this.#save();
      await buildCluster(this.#run, st.name, spec, st.mtu);
      const api = await buildApi(this.#run, st.name, st.dir, spec, st.mtu);
      st.kube.apis[spec.id] = api;
      this.#save();
      const client = await this.kubeClient(spec.id);
      try {
        await registerCluster(client, spec, api.lanKubeconfig);
      } finally {
        client.close();
      }
    }
    const first = st.clusters[0]?.spec.id ?? "c1";
    const ha = st.broker.ha;
    // As a user would: deploy-broker (with --backend nats and the NATS cluster's settings when the lab has one).
    await deployBroker({
      kubeconfig: st.kube.apis[first]?.kubeconfig,
      brokerUrl: st.broker.address,
      out: st.kube.brokerInfo,
      ...(ha
        ? {
            nats: {
              servers: haNatsUrls(ha),
              streamReplicas: 3,
              replicas: ha.replicas.length,
              user: NATS_USER,
              password: readFileSync(ha.passwordFile, "utf8").trim(),
              ca: readFileSync(ha.tls.caFile, "utf8"),
            },
          }
        : {}),
    });
    const bc = await this.kubeClient(first);
    const hosts = ha
      ? ha.replicas.map((r) => ({ ns: r.ns, socket: r.socket, role: `broker/${r.index}`, log: join(st.dir, `broker${r.index}.log`) }))
      : [{ ns: st.broker.ns, socket: st.broker.socket, role: "broker", log: join(st.dir, "broker.log") }];
    try {
      const { processes } = await runBrokerDeployment({ client: bc, hosts, dir: st.dir, nodeBin: st.nodeBin, repo: REPO_ROOT });
      st.broker.process = processes[0];
      if (ha) ha.replicas.forEach((r, i) => (r.process = processes[i]));
    } finally {
      bc.close();
    }
    this.#save();
    if (ha) {
      for (const r of ha.replicas) await this.#waitBroker(r.socket, r.process);
    } else {
      await this.#waitBroker();
    }
    for (const c of st.clusters) {
      await this.joinCluster(c.spec.id);
      await this.runWorkloads(c.spec.id);
      this.#startPods(c);
      await this.#startClusterDns(c);
    }
    this.#save();
  }

  /** Runs `causeway join` for a cluster from the broker's namespace (where both the broker and the API servers are reachable); the lab's cable driver unless `extra` names one. */
  async joinCluster(id: string, extra: readonly string[] = []) {
    const st = this.state;
    const api = st.kube?.apis[id];
    if (!api || !st.kube) throw new ValidationError(`cluster ${id} has no API server (the lab was not started with --kube)`);
    const driver = extra.includes("--cable-driver") ? [] : ["--cable-driver", st.cable];
    const argv = [st.nodeBin, script("cli/src/main.ts"), "join", st.kube.brokerInfo, "--kubeconfig", api.kubeconfig, "--context", id, ...driver, ...extra];
    const res = await this.#run.run("ip", ["netns", "exec", st.broker.ns, ...argv], { allowFailure: true, timeoutMs: 120_000 });
    if (res.exitCode !== 0) throw new Error(`causeway join ${id} failed (exit ${res.exitCode}): ${res.stderr.trim() || res.stdout.trim()}`);
    return res;
  }

  /** Starts what the cluster's DaemonSets and Deployments describe on the nodes they place pods on, leaving running ones alone. */
  async runWorkloads(id: string): Promise<void> {
    const c = this.cluster(id);
    const api = this.state.kube?.apis[id];
    if (!api) throw new ValidationError(`cluster ${id} has no API server`);
    const client = await this.kubeClient(id);
    try {
      const { started, stopped } = await runWorkloads({
        client,
        spec: c.spec,
        api,
        dir: this.state.dir,
        nodeBin: this.state.nodeBin,
        repo: REPO_ROOT,
        running: c.processes,
      });
      for (const p of stopped) c.processes.splice(c.processes.indexOf(p), 1);
      c.processes.push(...started);
      await finalizeNamespaces(client);
    } finally {
      client.close();
    }
    this.#save();
  }

  /** An admin client for a cluster's API server (Kubernetes tier), through the lab socket. */
  kubeClient(id: string): Promise<kube.KubeClient> {
    const api = this.state.kube?.apis[id];
    if (!api) throw new ValidationError(`cluster ${id} has no API server (the lab was not started with --kube)`);
    return kube.KubeClient.connect({ kubeconfig: api.kubeconfig, context: id });
  }

  #startClusterProcesses(c: LabCluster): void {
    const bin = this.state.nodeBin;
    const log = (what: string) => join(this.state.dir, `${c.spec.id}-${what}.log`);
    for (const n of c.spec.nodes) {
      if (n.gateway)
        c.processes.push(
          startIn(
            n.ns,
            `gateway/${n.name}`,
            [bin, script("gateway/src/main.ts"), "--site", c.siteFile, "--node", n.name, ...(this.state.gatewayFlags ?? [])],
            log(`${n.name}-gateway`),
            {
              CAUSEWAY_WG_INTERFACE: n.wgInterface,
            },
          ),
        );
      c.processes.push(
        startIn(n.ns, `route-agent/${n.name}`, [bin, script("route-agent/src/main.ts"), "--site", c.siteFile, "--node", n.name], log(`${n.name}-route-agent`)),
      );
    }
    // The cluster's clusterset DNS server (and export keeper) on n0, port 53 of its LAN address.
    const dnsNode = c.spec.nodes[0];
    if (dnsNode) {
      c.processes.push(
        startIn(
          dnsNode.ns,
          `lighthouse/${dnsNode.name}`,
          [bin, script("lighthouse/src/main.ts"), "--site", c.siteFile, "--node", dnsNode.name],
          log(`${dnsNode.name}-lighthouse`),
        ),
      );
    }
    this.#startPods(c);
  }

  /**
   * The cluster's DNS as in a Kubernetes cluster: a CoreDNS pod (built from its Go module) at
   * 10.I.0.53 serving cluster.local for the lab's services and forwarding clusterset.local to
   * the cluster's lighthouse with the generated stanza; every pod resolves through it.
   */
  async #startClusterDns(c: LabCluster): Promise<void> {
    const lighthouse = c.spec.nodes[0];
    if (!lighthouse) return;
    const d = clusterDnsSpec(this.state.name, c.spec);
    const corefile = join(this.state.dir, `${c.spec.id}.Corefile`);
    const zoneFile = join(this.state.dir, `${c.spec.id}.cluster.local.zone`);
    c.dns = { ns: d.ns, ip: d.ip, zoneFile, serial: 1 };
    this.#save();
    if (this.state.kube) {
      // As in a real cluster: CoreDNS runs the Corefile of kube-system/coredns, which join wired.
      const client = await this.kubeClient(c.spec.id);
      try {
        const cm = await client.get<{ data?: { Corefile?: string } }>(kube.R.configMap, "kube-system", "coredns");
        writeFileSync(corefile, cm.data?.Corefile ?? "");
        await this.#lighthouseService(client, c);
      } finally {
        client.close();
      }
    } else {
      writeFileSync(zoneFile, clusterZone(c.spec, c.services ?? [], d.ip, c.dns.serial));
      writeFileSync(corefile, labCorefile(zoneFile, lighthouse.lanIp));
    }
    await buildDnsPod(this.#run, c.spec, d);
    c.processes.push(startIn(d.ns, "coredns", [coreDnsBinary(), "-conf", corefile], join(this.state.dir, `${c.spec.id}-coredns.log`)));
    for (const n of c.spec.nodes) for (const p of n.pods) writePodResolvConf(p.ns, d.ip);
  }

  /** Kubernetes tier: the lighthouse DNS Service's cluster IP reaches the lighthouse replicas (what kube-proxy would do). */
  async #lighthouseService(client: kube.KubeClient, c: LabCluster): Promise<void> {
    const ip = await lighthouseDnsIp(client);
    const lighthouse = (await placedWorkloads(client)).find((p) => p.workload.metadata.name === "causeway-lighthouse");
    const backends = c.spec.nodes.filter((n) => lighthouse?.nodes.includes(n.name)).map((n) => n.lanIp);
    const rules = dnsServiceRules(ip, backends);
    for (const n of c.spec.nodes) await new NetnsRunner(this.#run, n.ns).run("iptables-restore", ["--noflush", "-w", "5"], { input: rules });
  }

  #startPods(c: LabCluster): void {
    const bin = this.state.nodeBin;
    const log = (what: string) => join(this.state.dir, `${c.spec.id}-${what}.log`);
    for (const n of c.spec.nodes) {
      for (const p of n.pods) {
        c.processes.push(
          startIn(
            p.ns,
            `echo/${n.name}/${p.name}`,
            [bin, script("e2e/src/tools/echo.ts"), "--port", String(LAB.echoPort), "--name", `${c.spec.id}/${n.name}/${p.name}`],
            log(`${n.name}-${p.name}-echo`),
          ),
        );
      }
    }
  }

  /**
   * `lab service add <cluster>/<ns>/<name>`: a service backed by `pods` new pods (each its own
   * namespace behind a node, running the lab web server on `port`, answering "<cluster>/<pod>");
   * ClusterSetIP gets a VIP DNATed on every node, headless none. Standalone: listed in the site
   * file (the lighthouse re-reads it); Kubernetes tier: a Service and its EndpointSlice.
   */
  async addService(ref: string, o: { pods?: number; port?: number; headless?: boolean } = {}): Promise<LabService> {
    const { cluster, namespace, name } = parseServiceRef(ref);
    const c = this.cluster(cluster);
    const pods = o.pods ?? 1;
    if (!Number.isInteger(pods) || pods < 0 || pods > MAX_SERVICE_PODS) throw new ValidationError(`--pods must be 0..${MAX_SERVICE_PODS}, got ${o.pods}`);
    const port = o.port ?? 80;
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new ValidationError(`--port must be 1..65535, got ${o.port}`);
    const services = (c.services ??= []);
    if (services.some((s) => s.namespace === namespace && s.name === name) || c.spec.services.some((s) => s.namespace === namespace && s.name === name)) {
      throw new ValidationError(`service ${namespace}/${name} already exists in ${cluster}; change its pods with 'causeway lab service scale ${ref} --pods N'`);
    }
    const vip = o.headless ? undefined : nextVip(c.spec, services);
    const svc: LabService = {
      namespace,
      name,
      headless: o.headless === true,
      port,
      pods: [],
      ...(vip ? { vip, chain: `LAB-SVC-${vip.split(".")[3]}` } : {}),
    };
    services.push(svc);
    this.#save();
    await this.#scale(c, svc, pods, true);
    return svc;
  }

  /** `lab service scale <cluster>/<ns>/<name> --pods N`: adds or removes pods (newest first). */
  async scaleService(ref: string, pods: number): Promise<LabService> {
    const { cluster, namespace, name } = parseServiceRef(ref);
    const c = this.cluster(cluster);
    if (!Number.isInteger(pods) || pods < 0 || pods > MAX_SERVICE_PODS) throw new ValidationError(`--pods must be 0..${MAX_SERVICE_PODS}, got ${pods}`);
    const svc = c.services?.find((s) => s.namespace === namespace && s.name === name);
    if (!svc) {
      const known = (c.services ?? []).map((s) => `${cluster}/${s.namespace}/${s.name}`).join(", ") || "none";
      throw new ValidationError(`no lab service ${ref} (made with 'causeway lab service add'; services: ${known})`);
    }
    await this.#scale(c, svc, pods, false);
    return svc;
  }

  async #scale(c: LabCluster, svc: LabService, pods: number, created: boolean): Promise<void> {
    const services = c.services ?? [];
    if (pods > svc.pods.length) {
      const fresh = planPods(c.spec, services, svc, pods - svc.pods.length, this.state.name);
      await addPodNetworks(this.#run, c.spec, fresh);
      for (const p of fresh) {
        c.processes.push(
          startIn(
            p.ns,
            `svc/${svc.namespace}/${p.name}`,
            [this.state.nodeBin, script("e2e/src/tools/web.ts"), "--port", String(svc.port), "--name", `${c.spec.id}/${p.name}`],
            join(this.state.dir, `${c.spec.id}-svc-${svc.namespace}-${p.name}.log`),
          ),
        );
      }
      svc.pods = [...svc.pods, ...fresh];
    }
    for (const p of svc.pods) if (c.dns) writePodResolvConf(p.ns, c.dns.ip);
    const gone = svc.pods.slice(pods);
    svc.pods = svc.pods.slice(0, pods);
    await applyServiceRules(this.#run, c.spec, svc, created);
    for (const p of gone) {
      const proc = c.processes.find((x) => x.ns === p.ns);
      if (proc) {
        await stopProcess(proc.pid, 1000);
        c.processes.splice(c.processes.indexOf(proc), 1);
      }
    }
    await destroyNamespaces(
      this.#run,
      gone.map((p) => p.ns),
    );
    removePodResolvConfs(gone.map((p) => p.ns));
    this.#save();
    await this.#publishService(c, svc);
  }

  /** `lab service delete`: its pods, DNAT rules and listing go (a ServiceExport of it stays, as in Kubernetes). */
  async removeService(ref: string): Promise<void> {
    const { cluster, namespace, name } = parseServiceRef(ref);
    const c = this.cluster(cluster);
    const svc = c.services?.find((s) => s.namespace === namespace && s.name === name);
    if (!svc) throw new ValidationError(`no lab service ${ref}`);
    await this.#scale(c, svc, 0, false);
    c.services = (c.services ?? []).filter((s) => s !== svc);
    this.#save();
    if (this.state.kube) {
      const client = await this.kubeClient(cluster);
      try {
        await client.delete(kube.R.service, namespace, name);
        await client.delete(kube.R.endpointSlice, namespace, `${name}-lab`);
      } finally {
        client.close();
      }
    } else {
      writeFileSync(c.siteFile, toYaml(siteOf(c, this.state)));
    }
    this.#writeZone(c);
  }

  /** Standalone: the cluster's cluster.local zone again, with a new serial (CoreDNS reloads it). */
  #writeZone(c: LabCluster): void {
    if (!c.dns || this.state.kube) return;
    c.dns.serial++;
    writeFileSync(c.dns.zoneFile, clusterZone(c.spec, c.services ?? [], c.dns.ip, c.dns.serial));
    this.#save();
  }

  /** Tells the cluster about a service's pods: the site file (standalone), or its Service and EndpointSlice (Kubernetes tier). */
  async #publishService(c: LabCluster, svc: LabService): Promise<void> {
    this.#writeZone(c);
    if (!this.state.kube) {
      writeFileSync(c.siteFile, toYaml(siteOf(c, this.state)));
      return;
    }
    const client = await this.kubeClient(c.spec.id);
    try {
      await applyLabService(client, svc);
    } finally {
      client.close();
    }
  }

  /** Restarts one component process (e.g. a route agent) in place. */
  async restart(clusterId: string, role: string): Promise<LabProcess> {
    const c = this.cluster(clusterId);
    const i = c.processes.findIndex((p) => p.role === role);
    const old = c.processes[i];
    if (!old) throw new ValidationError(`no process ${role} in ${clusterId}; roles: ${c.processes.map((p) => p.role).join(", ")}`);
    await stopProcess(old.pid);
    const fresh = startIn(old.ns, old.role, old.argv, old.log, old.env);
    c.processes[i] = fresh;
    this.#save();
    return fresh;
  }

  /** Stops one component process (SIGTERM, so it shuts down gracefully) and forgets it. */
  async stop(clusterId: string, role: string): Promise<void> {
    const c = this.cluster(clusterId);
    const p = c.processes.find((x) => x.role === role);
    if (!p) throw new ValidationError(`no process ${role} in ${clusterId}; roles: ${c.processes.map((x) => x.role).join(", ")}`);
    await stopProcess(p.pid);
    c.processes.splice(c.processes.indexOf(p), 1);
    this.#save();
  }

  /** The cluster leaves the clusterset (broker records removed first, so peers drop their routes), then its namespaces go. */
  async removeCluster(clusterId: string): Promise<void> {
    const c = this.cluster(clusterId);
    const admin = this.admin();
    try {
      await admin.leave(clusterId);
    } finally {
      admin.close();
    }
    await Promise.all(c.processes.map((p) => stopProcess(p.pid, 1000)));
    const names = [
      c.spec.switchNs,
      ...(c.spec.nat ? [c.spec.nat.ns] : []),
      ...c.spec.nodes.flatMap((n) => [n.ns, ...n.pods.map((p) => p.ns)]),
      ...(c.services ?? []).flatMap((s) => s.pods.map((p) => p.ns)),
      ...(c.dns ? [c.dns.ns] : []),
    ];
    await destroyNamespaces(this.#run, names);
    removePodResolvConfs(names);
    for (const f of [c.siteFile, c.tokenFile]) rmSync(f, { force: true });
    this.state.clusters.splice(this.state.clusters.indexOf(c), 1);
    this.#save();
  }

  cluster(id: string): LabCluster {
    const c = this.state.clusters.find((x) => x.spec.id === id);
    if (!c) throw new ValidationError(`no cluster ${id} in lab ${this.state.name}; clusters: ${this.state.clusters.map((x) => x.spec.id).join(", ")}`);
    return c;
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
    return this.#run.run("ip", ["netns", "exec", ns, ...argv], { allowFailure: true, timeoutMs });
  }

  /** Each cluster's active gateway connections: from the broker (standalone) or the Gateway objects (Kubernetes tier). */
  /** Each cluster's active gateway's connections (status and message per remote cluster). */
  async connections(): Promise<Map<string, { endpoint: { cluster_id: string }; status: string; statusMessage?: string }[]>> {
    type Conn = { endpoint: { cluster_id: string }; status: string; statusMessage?: string };
    const out = new Map<string, Conn[]>();
    if (this.state.kube) {
      for (const c of this.state.clusters) {
        const client = await this.kubeClient(c.spec.id);
        try {
          const gws = await client.list<{ status?: { haStatus?: string; connections?: Conn[] } }>(kube.R.gateway, SYSTEM_NAMESPACE);
          out.set(c.spec.id, gws.items.find((g) => g.status?.haStatus === "active")?.status?.connections ?? []);
        } finally {
          client.close();
        }
      }
      return out;
    }
    const admin = this.admin();
    try {
      const { records } = await admin.list("gateway");
      // Only the active gateway's connections (passive candidates report none; a crashed one's stale record is older).
      const newest = new Map<string, string>();
      for (const r of records) {
        const st = JSON.parse(r.valueJson) as { haStatus?: string; updatedAt?: string; connections: Conn[] };
        if (st.haStatus !== "active" || (newest.get(r.clusterId) ?? "") > (st.updatedAt ?? "")) continue;
        newest.set(r.clusterId, st.updatedAt ?? "");
        out.set(r.clusterId, st.connections);
      }
    } finally {
      admin.close();
    }
    return out;
  }

  /** Waits until every cluster's gateway reports a connected cable to every other cluster. */
  async waitConnected(timeoutMs = 60_000): Promise<void> {
    const want = this.state.clusters.map((c) => c.spec.id);
    const end = Date.now() + timeoutMs;
    let last = "";
    while (Date.now() < end) {
      try {
        const conns = await this.connections();
        const missing: string[] = [];
        for (const id of want) {
          for (const other of want) {
            if (other === id) continue;
            const c = conns.get(id)?.find((x) => x.endpoint.cluster_id === other);
            // What the gateway says of a missing cable goes into the error: a failing run tells why.
            if (c?.status !== "connected") missing.push(c ? `${id}→${other} (${c.status}${c.statusMessage ? `: ${c.statusMessage}` : ""})` : `${id}→${other}`);
          }
        }
        if (!missing.length) return;
        last = missing.join(", ");
      } catch (err) {
        last = String(err);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`cables not connected after ${timeoutMs} ms: ${last}`);
  }

  processStatus(): { cluster: string; role: string; pid: number; alive: boolean }[] {
    const b = this.state.broker;
    const brokers = b.ha ? b.ha.replicas.flatMap((r) => (r.process ? [r.process] : [])) : b.process ? [b.process] : [];
    const rows = brokers.map((p) => ({ cluster: "-", role: p.role, pid: p.pid, alive: alive(p.pid) }));
    for (const n of b.ha?.nats ?? []) if (n.pid) rows.push({ cluster: "-", role: `nats/${n.name}`, pid: n.pid, alive: alive(n.pid) });
    for (const c of this.state.clusters) for (const p of c.processes) rows.push({ cluster: c.spec.id, role: p.role, pid: p.pid, alive: alive(p.pid) });
    return rows;
  }
}

/** Defaults and validates `lab up` options; throws ValidationError / UnknownCableDriverError naming what is supported. */
function upOptions(o: UpOptions) {
  const name = o.name ?? "cw";
  validateLabName(name);
  const cable = o.cable ?? "vxlan";
  if (!(SUPPORTED_CABLE_DRIVERS as readonly string[]).includes(cable)) {
    throw new UnknownCableDriverError(`unknown cable driver "${cable}"; supported: ${SUPPORTED_CABLE_DRIVERS.join(", ")}`);
  }
  const intraCluster = o.intraCluster ?? "vxlan";
  if (!(INTRA_CLUSTER_MODES as readonly string[]).includes(intraCluster)) {
    throw new ValidationError(`unknown intra-cluster mode "${intraCluster}"; supported: ${INTRA_CLUSTER_MODES.join(", ")}`);
  }
  const clusters = o.clusters ?? 2;
  wholeInRange("--clusters", clusters, LAB.maxClusters);
  const nodes = o.nodes ?? 3;
  const pods = o.pods ?? 1;
  const gateways = o.gateways ?? 1;
  const nat = labNat(o.nat ?? [], clusters);
  clusterSpec(name, 1, nodes, pods, nat.length > 0, gateways); // validates nodes, pods, gateways
  if (o.kube && (o.healthCheckInterval !== undefined || o.healthCheckMaxPacketLoss !== undefined))
    throw new ValidationError("--health-check-* take standalone labs: in the Kubernetes tier the gateways run as their DaemonSet says");
  labMtu(o.mtu);
  return {
    name,
    cable,
    intraCluster,
    clusters,
    nodes,
    pods,
    nat,
    mtu: o.mtu,
    gateways,
    gatewayFlags: healthCheckFlags(o),
    brokerReplicas: brokerReplicasOf(o),
  };
}

/** With --broker-backend nats: how many broker replicas (default 3); undefined for the single SQLite broker. */
function brokerReplicasOf(o: UpOptions): number | undefined {
  const backend = o.brokerBackend ?? "sqlite";
  if (backend !== "sqlite" && backend !== "nats") throw new ValidationError(`unknown broker backend "${String(backend)}"; supported: sqlite, nats`);
  if (backend === "sqlite") {
    if (o.brokerReplicas !== undefined && o.brokerReplicas !== 1)
      throw new ValidationError("--broker-replicas > 1 needs --broker-backend nats (SQLite serves one broker)");
    return undefined;
  }
  if (o.kube && o.brokerTls) throw new ValidationError("--broker-tls takes standalone labs (with --kube, deploy-broker serves TLS already)");
  const n = o.brokerReplicas ?? 3;
  wholeInRange("--broker-replicas", n, MAX_BROKER_REPLICAS);
  return n;
}

/** The gateways' health-check flags from the lab options, checked as the gateway checks them. */
function healthCheckFlags(o: UpOptions): string[] {
  const { healthCheckInterval: interval, healthCheckMaxPacketLoss: loss } = o;
  if (interval === undefined && loss === undefined) return [];
  try {
    checkHealthSettings({ intervalMs: (interval ?? 1) * 1000, maxPacketLoss: loss ?? 5 });
  } catch (err) {
    throw new ValidationError(errorMessage(err));
  }
  return [
    ...(interval === undefined ? [] : ["--health-check-interval", String(interval)]),
    ...(loss === undefined ? [] : ["--health-check-max-packet-loss", String(loss)]),
  ];
}

/** The --nat cluster ids, each a cluster of the lab; ValidationError otherwise. */
function labNat(ids: readonly string[], clusters: number): string[] {
  const nat = [...new Set(ids)];
  for (const id of nat) {
    const i = /^c(\d+)$/.exec(id)?.[1];
    if (!i || Number(i) < 1 || Number(i) > clusters) throw new ValidationError(`--nat ${id}: not a cluster of this lab (c1..c${clusters})`);
  }
  return nat;
}

function labMtu(mtu: number | undefined): void {
  if (mtu !== undefined && (!Number.isInteger(mtu) || mtu < 576 || mtu > 9000)) throw new ValidationError(`--mtu must be 576..9000, got ${mtu}`);
}

/** wireguard-go's control sockets of a lab's devices, left behind when wireguard-go was killed. */
function removeWireGuardSockets(lab: string): void {
  const dir = "/var/run/wireguard";
  if (!existsSync(dir)) return;
  const mine = new RegExp(`^${lab}c\\d+n\\d+\\.sock$`);
  for (const f of readdirSync(dir)) if (mine.test(f)) rmSync(join(dir, f), { force: true });
}

function siteOf(entry: LabCluster, st: LabState) {
  const c = entry.spec;
  return {
    clusterId: c.id,
    clusterCIDRs: [c.podCidr],
    serviceCIDRs: [c.serviceCidr],
    cableDriver: st.cable,
    intraCluster: st.intraCluster ?? "vxlan",
    broker: {
      address: st.broker.address,
      tokenFile: join(st.dir, `${c.id}.token`),
      cableSecretFile: join(st.dir, "cable-secret"),
      ...(st.broker.tls ? { caFile: st.broker.tls.caFile } : {}),
    },
    nodes: c.nodes.map((n) => ({
      name: n.name,
      ip: n.lanIp,
      podCIDR: n.podCidr,
      cniIP: n.cniIp,
      gateway: n.gateway,
      ...(n.publicIp ? { publicIp: `ipv4:${n.publicIp}` } : {}),
    })),
    // The lab's services, exportable with `causeway export service <name> -n <ns> --context <cluster>`.
    services: [
      ...c.services.map((s) => ({
        namespace: s.namespace,
        name: s.name,
        type: "ClusterSetIP",
        ip: s.vip,
        ports: [{ name: "http", protocol: "TCP", port: s.port, targetPort: s.backendPort }],
        endpoints: [{ ip: s.backendIp }],
      })),
      ...(entry.services ?? []).map(siteServiceOf),
    ],
  };
}
