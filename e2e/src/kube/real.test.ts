/**
 * The Kubernetes tier on real nodes: 2 clusters × 3 nodes, each node with its own containerd,
 * kubelet and kube-proxy; Causeway installed by deploy-broker and join and run by the kubelets as
 * pods from its image; the lab's test pods, CoreDNS and the broker's volume real too.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { SYSTEM_NAMESPACE } from "@causeway/api";
import { kube, ProcessRunner } from "@causeway/common";
import { BROKER_NAMESPACE, IMAGE } from "@causeway/deploy";
import { Lab, labMemoryDir, REPO_ROOT, until } from "@causeway/lab";
import { podDig } from "../discovery/pods.ts";
import { nodeTrace } from "./nodetrace.ts";
import { assertPodReaches, tcpFrom } from "../dataplane/checks.ts";
import { dataplaneScenarios } from "../dataplane/scenarios.ts";
import { upConnected } from "../fixture.ts";

const root = process.getuid?.() === 0;
const NAME = "cwrn";
/** The label the lab's echo Service selects its pod by (lab/src/labpods.ts). */
const LAB_POD = "lab.causeway.dev/pod";

interface Pod {
  metadata: kube.ObjectMeta;
  spec: { nodeName?: string; hostNetwork?: boolean; containers: { image: string }[] };
  status?: { phase?: string; containerStatuses?: { ready: boolean; imageID?: string; restartCount: number }[] };
}

describe(
  "kube tier on real nodes: 2 clusters × 3 nodes, kubelet + containerd + kube-proxy each",
  { skip: root ? false : "needs root", timeout: 900_000 },
  () => {
    let lab: Lab;
    const run = new ProcessRunner(60_000);
    before(async () => {
      lab = await upConnected({ name: NAME, clusters: 2, nodes: 3, kube: true });
    });
    after(async () => {
      await Lab.down(NAME);
    });

    const pods = async (id: string) => {
      const client = await lab.kubeClient(id);
      try {
        return (await client.list<Pod>(kube.R.pod)).items;
      } finally {
        client.close();
      }
    };

    it("every pod in both clusters is Running and ready from an image imported into its node; the lab started no component process", async () => {
      for (const id of ["c1", "c2"]) {
        const all = await pods(id);
        const names = (ns: string) =>
          all.filter((p) => p.metadata.namespace === ns).map((p) => p.metadata.name.replace(/-[a-z0-9]{5}$|-[a-f0-9]{8,10}-[a-z0-9]{5}$/, ""));
        assert.deepEqual(names(SYSTEM_NAMESPACE).sort(), [
          "causeway-gateway",
          "causeway-lighthouse",
          "causeway-lighthouse",
          "causeway-route-agent",
          "causeway-route-agent",
          "causeway-route-agent",
        ]);
        assert.deepEqual(names("kube-system").sort(), ["coredns", "coredns"]);
        assert.deepEqual(names("default").sort(), ["echo-n0-p0", "echo-n1-p0", "echo-n2-p0"]);
        if (id === "c1") assert.deepEqual(names(BROKER_NAMESPACE), ["causeway-broker"]);
        for (const p of all) {
          assert.equal(p.status?.phase, "Running", `${p.metadata.name}: ${JSON.stringify(p.status)}`);
          for (const s of p.status?.containerStatuses ?? []) assert.ok(s.ready && s.imageID, `${p.metadata.name} ready from an image: ${JSON.stringify(s)}`);
          const images = p.spec.containers.map((c) => c.image);
          assert.ok(
            images.every((i) => i === IMAGE || i.startsWith("causeway.local/")),
            `${p.metadata.name} runs ${images.join(", ")}`,
          );
        }
        // The lab's own processes are the cluster's control plane and node agents, nothing of Causeway's.
        const roles = new Set(lab.cluster(id).processes.map((p) => p.role.split("/")[0]));
        assert.deepEqual([...roles].sort(), ["containerd", "kube-controller-manager", "kube-proxy", "kube-scheduler", "kubelet"]);
      }
    });

    it("the Causeway DaemonSets run with the host network on every node; the images are in each node's containerd", async () => {
      const all = await pods("c2");
      const ra = all.filter((p) => p.metadata.name.startsWith("causeway-route-agent-"));
      assert.deepEqual(ra.map((p) => p.spec.nodeName).sort(), ["n0", "n1", "n2"]);
      assert.ok(ra.every((p) => p.spec.hostNetwork === true));
      const n2 = lab.cluster("c2").spec.nodes.find((n) => n.name === "n2");
      const images = await run.run("ctr", ["--address", `${lab.state.dir}/nodes/c2-n2/containerd.sock`, "--namespace", "k8s.io", "images", "ls", "-q"]);
      assert.ok(n2);
      for (const ref of [`docker.io/library/${IMAGE}`, "causeway.local/pause:1", "causeway.local/coredns:1"])
        assert.ok(images.stdout.split("\n").includes(ref), images.stdout);
    });

    it("the broker's claim is bound to the lab's local volume, and its database is on it", async () => {
      const client = await lab.kubeClient("c1");
      try {
        const claim = await client.get<{ status?: { phase?: string }; spec?: { volumeName?: string } }>(
          kube.R.persistentVolumeClaim,
          BROKER_NAMESPACE,
          "causeway-broker-data",
        );
        assert.equal(claim.status?.phase, "Bound");
        assert.equal(claim.spec?.volumeName, "causeway-lab-broker");
      } finally {
        client.close();
      }
      // The lab keeps the volume in memory (paths.ts, labMemoryDir).
      assert.ok(existsSync(join(labMemoryDir(lab.state.name), "volumes", "broker", "broker.db")));
    });

    it("cluster DNS is CoreDNS behind kube-proxy: a pod resolves the echo Service by name", async () => {
      const r = await lab.exec("c1/n1/p0", [
        process.execPath,
        "-e",
        "require('dns').promises.resolve4('echo.default.svc.cluster.local').then((a) => console.log(a.join(',')))",
      ]);
      assert.equal(r.stdout.trim(), "10.101.0.10", r.stderr);
    });

    // pod ↔ pod both ways from non-gateway nodes with the source kept; pod → the other cluster's
    // Service through its real kube-proxy; a TCP stream across route-agent pod restarts.
    dataplaneScenarios(() => lab);

    const cli = (args: readonly string[]) => run.run(process.execPath, [join(REPO_ROOT, "cli/src/main.ts"), ...args], { allowFailure: true });
    const kc = (id: string) => lab.state.kube?.apis[id]?.kubeconfig ?? "";
    /** The CLI on the operator's machine (a host on the underlay: the broker and the clusters' addresses are reachable there). */
    const inLab = (args: readonly string[]) =>
      run.run("ip", ["netns", "exec", lab.state.broker.ns, process.execPath, join(REPO_ROOT, "cli/src/main.ts"), ...args], {
        allowFailure: true,
        timeoutMs: 300_000,
      });
    const ECHO = "echo.default.svc.clusterset.local";
    /** What c1's pod gets for the clusterset name: the answer, and who serves a TCP connection by name. */
    const byName = async (from = "c1/n1/p0") => {
      const ips = await podDig(lab, from, ECHO);
      const tcp = await tcpFrom(lab, from, ECHO, 80);
      return { ips, who: tcp.stdout.trim() };
    };

    it("causeway verify --kubeconfig a,b: every check passes on the healthy pair, test pods included, and they are removed after", async () => {
      const r = await inLab(["verify", "--kubeconfig", `${kc("c1")},${kc("c2")}`]);
      assert.equal(r.exitCode, 0, r.stdout + r.stderr);
      for (const line of [
        /✓ c1 → c2 gateway connection/,
        /✓ pod in c1 → pod in c2, source address kept/,
        /✓ pod in c2 → pod in c1, source address kept/,
        /✓ pod in c1 → c2's Service by its cluster IP, source address kept/,
        /✓ pod in c1 → c2's Service by its clusterset name/,
        /✓ all 11 checks passed/,
      ])
        assert.match(r.stdout, line);
      for (const id of ["c1", "c2"]) {
        const client = await lab.kubeClient(id);
        try {
          await until(
            `${id}'s causeway-verify namespace gone`,
            async () => ((await client.find(kube.R.namespace, undefined, "causeway-verify")) ? undefined : true),
            60_000,
          );
        } finally {
          client.close();
        }
      }
    });

    it("causeway verify with the cable's UDP port dropped at c2's gateway: exit 1, naming the connection and traffic checks that fail", async () => {
      const drop = (op: "-I" | "-D") => lab.exec("c2/n0", ["iptables", op, "INPUT", "-p", "udp", "--dport", "4500", "-j", "DROP"]);
      await drop("-I");
      try {
        // As an operator would meet it: the cable broken for a while, its gateway's health check has noticed.
        await until(
          "c1's gateway sees its cable to c2 down",
          async () => ((await lab.connections()).get("c1")?.find((c) => c.endpoint.cluster_id === "c2")?.status !== "connected" ? true : undefined),
          30_000,
        );
        const r = await inLab(["verify", "--kubeconfig", `${kc("c1")},${kc("c2")}`, "--no-discovery"]);
        assert.equal(r.exitCode, 1, r.stdout + r.stderr);
        assert.match(r.stdout, /✗ c1 → c2 gateway connection \(\d+ ms\): c1's active gateway connected to c2: not within 30 s/);
        assert.match(r.stdout, /✓ c1 and c2 are members of one clusterset/);
        assert.match(r.stdout, /✗ pod in c1 → pod in c2, source address kept \(\d+ ms\): no answer from /);
        assert.match(r.stdout, /✗ \d+ of \d+ checks failed/);
        // diagnose firewall names the direction that is blocked, and only that one.
        const fw = await inLab(["diagnose", "firewall", "--kubeconfig", `${kc("c1")},${kc("c2")}`]);
        assert.equal(fw.exitCode, 1, fw.stdout + fw.stderr);
        assert.match(
          fw.stdout,
          /✗ UDP 4500 from c1's gateway \(n0\) to c2's gateway 198\.18\.2\.10: none of 10 marked datagrams arrived at c2's gateway node n0 .*allow UDP 4500/,
        );
        assert.match(fw.stdout, /✓ UDP 4500 from c2's gateway \(n0\) to c1's gateway 198\.18\.1\.10/);
      } finally {
        await drop("-D");
      }
      await lab.waitConnected(60_000);
    });

    it("causeway diagnose firewall and connections --kubeconfig a,b on the healthy pair: both directions pass; the test pods and their nftables table are gone after", async () => {
      const r = await inLab(["diagnose", "firewall", "--kubeconfig", `${kc("c1")},${kc("c2")}`]);
      assert.equal(r.exitCode, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /✓ UDP 4500 from c1's gateway \(n0\) to c2's gateway 198\.18\.2\.10\n/);
      assert.match(r.stdout, /✓ UDP 4500 from c2's gateway \(n0\) to c1's gateway 198\.18\.1\.10\n/);
      const conns = await inLab(["diagnose", "connections", "--kubeconfig", `${kc("c1")},${kc("c2")}`]);
      assert.equal(conns.exitCode, 0, conns.stdout + conns.stderr);
      assert.match(conns.stdout, /✓ connection c1 → c2\n[\s\S]*✓ connection c2 → c1\n/);
      for (const id of ["c1", "c2"]) {
        const client = await lab.kubeClient(id);
        try {
          assert.equal(await client.find(kube.R.namespace, undefined, "causeway-diagnose"), undefined, `${id} keeps causeway-diagnose`);
        } finally {
          client.close();
        }
        const nft = await lab.exec(`${id}/n0`, ["nft", "list", "tables"]);
        assert.doesNotMatch(nft.stdout, /causeway-diagnose/);
      }
    });

    for (const what of ["throughput", "latency"] as const) {
      it(`causeway benchmark ${what} --kubeconfig a,b: a figure from pod to pod across the clusters; the namespace is gone after`, async () => {
        const r = await inLab(["benchmark", what, "--kubeconfig", `${kc("c1")},${kc("c2")}`]);
        assert.equal(r.exitCode, 0, r.stdout + r.stderr);
        const line =
          what === "throughput"
            ? /✓ throughput c1 pod \(node n[12]\) → c2 pod 10\.2\.[12]\.\d+ \(node n[12]\), TCP 5 s: (\d+\.\d+) Gbit\/s received/
            : /✓ latency c1 pod \(node n[12]\) → c2 pod 10\.2\.[12]\.\d+ \(node n[12]\), 20 pings: min [\d.]+ ms {2}avg ([\d.]+) ms .* loss 0%/;
        const m = line.exec(r.stdout);
        assert.ok(m, r.stdout);
        assert.ok(Number(m[1]) > 0, r.stdout);
        console.log(`# real nodes, benchmark ${what}: ${r.stdout.trim().split("\n").at(-1)}`);
        const client = await lab.kubeClient("c1");
        try {
          assert.equal(await client.find(kube.R.namespace, undefined, "causeway-benchmark"), undefined);
        } finally {
          client.close();
        }
      });
    }

    it("discovery by name: c2's echo exported with the CLI; c1's pod resolves it through CoreDNS and the lighthouse, and reaches c2's pod by name, its source kept", async () => {
      const r = await cli(["export", "service", "echo", "-n", "default", "--kubeconfig", kc("c2")]);
      assert.equal(r.exitCode, 0, r.stdout + r.stderr);
      const seen = await until(
        "c1/n1/p0 reaches echo by its clusterset name",
        async () => {
          const x = await byName();
          return /^c2\/n1\/p0 sees 10\.1\.1\.10:/.test(x.who) ? x : undefined;
        },
        60_000,
      );
      // The ServiceImport's clusterset IP (MCS DNS), translated to c2's pod by c1's route agent.
      const c1 = await lab.kubeClient("c1");
      try {
        const si = await c1.get<{ spec: { ips?: string[] } }>(kube.R.serviceImport, "default", "echo");
        assert.deepEqual(seen.ips, si.spec.ips);
        assert.match(seen.ips[0] ?? "", /^243\./);
      } finally {
        c1.close();
      }
    });

    it("active-active by name: exported by c1 too, c1's pods get c1's; c1's Service loses its endpoints → c2's; they come back → c1's", async () => {
      const r = await cli(["export", "service", "echo", "-n", "default", "--kubeconfig", kc("c1")]);
      assert.equal(r.exitCode, 0, r.stdout + r.stderr);
      const served = (who: RegExp) => async () => (who.test((await byName()).who) ? true : undefined);
      await until("local first", served(/^c1\/n1\/p0 sees /), 60_000);
      const client = await lab.kubeClient("c1");
      const selector = (pod: string) =>
        client.apply(
          kube.R.service,
          { metadata: { name: "echo", namespace: "default" }, ...{ spec: { selector: { [LAB_POD]: pod } } } },
          { fieldManager: "e2e", force: true },
        );
      try {
        await selector("none");
        const t0 = performance.now();
        await until("c2's echo once c1's has no endpoints", served(/^c2\/n1\/p0 sees /), 60_000);
        console.log(`# real nodes, active-active: c1's clients reached c2's echo ${Math.round(performance.now() - t0)} ms after c1's endpoints went`);
        await selector("n1-p0");
        await until("back to c1's", served(/^c1\/n1\/p0 sees /), 60_000);
      } finally {
        client.close();
      }
    });

    it("causeway uninstall of c2 from the operator's machine: its pods go, its nodes keep nothing of Causeway's but the sysctls the README names", async () => {
      const r = await run.run(
        "ip",
        ["netns", "exec", lab.state.broker.ns, process.execPath, join(REPO_ROOT, "cli/src/main.ts"), "uninstall", "--kubeconfig", kc("c2"), "--yes"],
        { allowFailure: true, timeoutMs: 180_000 },
      );
      assert.equal(r.exitCode, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /cluster c2 left the broker/);
      const left = (await pods("c2")).filter((p) => p.metadata.namespace?.startsWith("causeway")).map((p) => p.metadata.name);
      assert.deepEqual(left, []);
      const found: string[] = [];
      for (const n of lab.cluster("c2").spec.nodes) found.push(...(await nodeTrace(lab, `c2/${n.name}`, n.wgInterface)));
      assert.deepEqual(found, [], "nothing of Causeway's on c2's nodes");
      // What uninstall keeps (README, Kubernetes mode): forwarding on (a node's pods need it) and loose reverse-path filtering on the node's interface.
      for (const n of lab.cluster("c2").spec.nodes) {
        const sysctl = await lab.exec(`c2/${n.name}`, ["sysctl", "-n", "net.ipv4.ip_forward", "net.ipv4.conf.eth0.rp_filter"]);
        assert.deepEqual(sysctl.stdout.trim().split("\n"), ["1", "2"], n.name);
      }
      // c1 is untouched: its pods still talk among themselves.
      await assertPodReaches(lab, "c1/n1/p0", "c1/n2/p0");
    });

    it("lab down leaves nothing on the host: no namespace, cgroup, mount, process or directory of the lab", async () => {
      const dir = lab.state.dir;
      await Lab.down(NAME);
      const netns = await run.run("ip", ["netns", "list"]);
      assert.doesNotMatch(netns.stdout, new RegExp(`^${NAME}-`, "m"));
      for (const h of readdirSync("/sys/fs/cgroup")) {
        if (existsSync(`/sys/fs/cgroup/${h}/cgroup.procs`))
          assert.deepEqual(
            readdirSync(`/sys/fs/cgroup/${h}`).filter((e) => e.startsWith(`${NAME}-`)),
            [],
            h,
          );
      }
      assert.doesNotMatch(readFileSync("/proc/self/mountinfo", "utf8"), new RegExp(dir));
      assert.equal(existsSync(dir), false);
      const ps = await run.run("ps", ["-eo", "args"]);
      assert.doesNotMatch(ps.stdout, new RegExp(`${dir}/nodes/`));
    });
  },
);
