/**
 * Kubernetes mode in the lab on real nodes: 2 clusters × 3 nodes (kubelet, containerd, kube-proxy
 * each), Causeway installed by deploy-broker and join and run by the kubelets from its image —
 * what operators do through the API and the CLI: the API server restarted, images overridden,
 * the cable driver changed by rejoining, the seed's flags, verify without test pods, bad input.
 * (The data-path scenarios, discovery, uninstall: kube/real.test.ts and discovery/kube.test.ts;
 * credential rotation and gateway redundancy: kube/lifecycle.test.ts.)
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { assertPodReaches, tcpFrom } from "../dataplane/checks.ts";
import { SCHEMA_HASH_ANNOTATION, SYSTEM_NAMESPACE } from "@causeway/api";
import { kube, ProcessRunner } from "@causeway/common";
import { encodeBrokerInfo } from "@causeway/api";
import { deployBroker, IMAGE, readBrokerInfo } from "@causeway/deploy";
import { apiServerOf, kubeApiServerBinary, Lab, podPids, REPO_ROOT, until } from "@causeway/lab";
import { upConnected } from "../fixture.ts";

const root = process.getuid?.() === 0;
const NAME = "cwk8";
const node = process.execPath;
const cli = join(REPO_ROOT, "cli/src/main.ts");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe(
  "kube tier (lab) on real nodes: Kubernetes mode, 2 clusters × 3 nodes",
  { skip: root ? false : "needs root for network namespaces", timeout: 900_000 },
  () => {
    let lab: Lab;
    const run = new ProcessRunner(180_000);
    before(async () => {
      lab = await upConnected({ name: NAME, clusters: 2, nodes: 3, kube: true });
    });
    after(async () => {
      await Lab.down(NAME);
    });

    const tcp = (from: string, host: string, port = 8080, extra: readonly string[] = []) => tcpFrom(lab, from, host, port, extra);
    /** The CLI as an admin in the lab (the broker's namespace reaches the broker and every API server). */
    const causeway = (args: readonly string[], timeoutMs = 180_000) =>
      run.run("ip", ["netns", "exec", lab.state.broker.ns, node, cli, ...args], { allowFailure: true, timeoutMs });
    const kc = (id: string) => lab.state.kube?.apis[id]?.kubeconfig ?? "";
    const brokerClusters = async () => {
      const a = lab.admin();
      try {
        return (await a.list("cluster")).records.map((r) => r.clusterId).sort();
      } finally {
        a.close();
      }
    };

    /** The host pid of a component's container on a node (its container's first process). */
    const componentPid = async (id: string, component: string, node: string): Promise<number> => {
      const p = (await podPids(lab, id)).find((x) => x.pod.startsWith(`causeway-${component}-`) && x.node === node);
      assert.ok(p, `a ${component} pod runs on ${id}/${node}`);
      return p.pid;
    };

    it("route agents read the local API only: their only connections go to the API server (through its Service), none to the broker", async () => {
      const pid = await componentPid("c1", "route-agent", "n1");
      const ss = await lab.exec("c1/n1", ["ss", "-tnpH", "state", "established"]);
      const mine = ss.stdout.split("\n").filter((l) => l.includes(`pid=${pid},`));
      assert.ok(mine.length > 0, ss.stdout);
      // In a pod: the kubernetes Service's address (kube-proxy takes it to the API server), or the API server's own.
      for (const l of mine) assert.match(l, /\s(10\.101\.0\.1:443|198\.19\.1\.2:6443)\s/, l);
    });

    it("restarting a cluster's kube-apiserver: components reconnect and resync without restarting; traffic is not interrupted", async () => {
      const c1 = lab.cluster("c1");
      const causewayPods = async () => (await podPids(lab, "c1")).filter((p) => p.namespace === SYSTEM_NAMESPACE);
      const before = await causewayPods();
      assert.ok(before.length >= 4, JSON.stringify(before));
      const stream = tcp("c1/n1/p0", lab.resolve("c2/n1/p0").ip, 8080, ["--stream", "12000", "--interval", "20"]);
      await sleep(1000);
      const api = apiServerOf(lab.state.name, lab.state.dir, c1.spec);
      await api.stopApiServer();
      await sleep(3000);
      await api.startApiServer(kubeApiServerBinary());
      const r = await stream;
      assert.equal(r.exitCode, 0, r.stdout);
      assert.match(r.stdout, /stream ok (\d+) \1 /);
      // The same containers (same processes) run after: nothing restarted.
      assert.deepEqual((await causewayPods()).map((p) => `${p.pod}/${p.pid}`).sort(), before.map((p) => `${p.pod}/${p.pid}`).sort());
      // Resync after the restart: the remote cluster's Cluster object, deleted locally, is restored from the broker by
      // the (reconnected) syncer. (Deleting the remote Endpoint instead would really withdraw c1's routes to c2, and a
      // route agent still backing off after the restart may act on it only later: a test-made outage with racy timing.)
      const client = await lab.kubeClient("c1");
      try {
        assert.equal(await client.delete(kube.R.cluster, SYSTEM_NAMESPACE, "c2"), true);
        await until(
          "remote cluster restored",
          async () => (await client.get(kube.R.cluster, SYSTEM_NAMESPACE, "c2").catch(() => undefined)) ?? undefined,
          20_000,
        );
      } finally {
        client.close();
      }
      const dst = lab.resolve("c2/n2/p0").ip;
      const after = await tcp("c1/n2/p0", dst);
      assert.equal(after.exitCode, 0, after.stdout);
    });

    it("join --image-override: the API server holds the given images (component=image, repeatable); a join without it restores the release's", async () => {
      const images = async () => {
        const client = await lab.kubeClient("c2");
        try {
          const out: Record<string, string | undefined> = {};
          for (const [rt, name] of [
            [kube.R.daemonSet, "causeway-gateway"],
            [kube.R.daemonSet, "causeway-route-agent"],
            [kube.R.deployment, "causeway-lighthouse"],
          ] as const) {
            const w = await client.get<{ spec: { template: { spec: { containers: { image: string }[] } } } }>(rt, SYSTEM_NAMESPACE, name);
            out[name] = w.spec.template.spec.containers[0]?.image;
          }
          return out;
        } finally {
          client.close();
        }
      };
      const release = await images();
      assert.deepEqual(new Set(Object.values(release)), new Set([IMAGE]));
      // Images the nodes have under other names (join waits until the pods run them).
      await lab.tagImage("registry.example/causeway:override", ["c2"]);
      await lab.tagImage("lh.example/causeway:1", ["c2"]);
      await lab.joinCluster("c2", [
        "--image-override",
        "route-agent=registry.example/causeway:override",
        "--image-override",
        "lighthouse=lh.example/causeway:1",
      ]);
      assert.deepEqual(await images(), {
        "causeway-gateway": IMAGE,
        "causeway-route-agent": "registry.example/causeway:override",
        "causeway-lighthouse": "lh.example/causeway:1",
      });
      await lab.joinCluster("c2");
      assert.deepEqual(await images(), release);
    });

    it("deploy-broker and join are idempotent; show all from one context shows both endpoints", async () => {
      // As the lab deployed it: the broker's NodePort on c1's gateway node.
      const again = await deployBroker({ kubeconfig: kc("c1"), out: lab.state.kube?.brokerInfo ?? "" });
      assert.deepEqual(again.changed, []);
      for (const id of ["c1", "c2"]) {
        const r = await lab.joinCluster(id);
        assert.match(r.stdout, /nothing changed/);
        assert.match(r.stdout, new RegExp(`cluster ${id} was already a member`));
      }
      assert.deepEqual(await brokerClusters(), ["c1", "c2"]);
      // With a hook recording every module resolved: a join that succeeds loads nothing of the lab.
      const modules = join(lab.state.dir, "join-dry-run.modules");
      writeFileSync(modules, "");
      const hook = join(REPO_ROOT, "cli/src/testdata/record-modules.mjs");
      const dry = await run.run(
        "ip",
        [
          "netns",
          "exec",
          lab.state.broker.ns,
          "env",
          `CW_MODULE_LOG=${modules}`,
          node,
          "--import",
          hook,
          cli,
          "join",
          lab.state.kube?.brokerInfo ?? "",
          "--kubeconfig",
          kc("c2"),
          "--context",
          "c2",
          "--clusterid",
          "c7",
          "--dry-run",
        ],
        { allowFailure: true, timeoutMs: 60_000 },
      );
      assert.equal(dry.exitCode, 0, dry.stderr);
      const loaded = readFileSync(modules, "utf8").split("\n");
      assert.ok(loaded.some((u) => u.endsWith("/deploy/src/join.ts")));
      assert.deepEqual(
        loaded.filter((u) => u.includes(`${REPO_ROOT}/lab/`)),
        [],
        "join --dry-run loaded lab modules",
      );
      assert.match(dry.stdout, /kind: CustomResourceDefinition[\s\S]*name: endpoints\.causeway\.io/);
      assert.match(dry.stdout, /clusterId: c7/);
      assert.deepEqual(await brokerClusters(), ["c1", "c2"], "--dry-run registers nothing");
      const show = await causeway(["show", "all", "--kubeconfig", kc("c1"), "--context", "c1"]);
      assert.equal(show.exitCode, 0, show.stderr);
      // Endpoint IP, then the public IP the gateway resolved from its node's causeway.io/public-ip annotation.
      assert.match(show.stdout, /c1\s+198\.18\.1\.10\s+198\.18\.1\.10\s+vxlan\s+local/);
      assert.match(show.stdout, /c2\s+198\.18\.2\.10\s+198\.18\.2\.10\s+vxlan\s+remote/);
      assert.match(show.stdout, /n0\s+active\s+All connections \(1\) are established/);
    });

    it("changing the cable driver by rejoining (--cable-driver), vxlan → wireguard → vxlan: pods roll, cables reconnect, traffic flows; c1 on its own --nattport (and --preferred-server)", async () => {
      /** `wg show` in the gateway container (wireguard-go's control socket is in the container's /var/run). */
      const wg = async (id: string, what: string) =>
        run.run("nsenter", ["-t", String(await componentPid(id, "gateway", "n0")), "-m", "-n", "wg", "show", "causeway-wg", what], { allowFailure: true });
      const gwLinks = async (id: string) => (await lab.exec(`${id}/n0`, ["ip", "-o", "link", "show"])).stdout;
      // c1's gateway on another cable port (the other cluster sends there); on WireGuard also the preferred server (c2 dials it).
      const c1Flags = { wireguard: ["--nattport", "4501", "--preferred-server"], vxlan: ["--nattport", "4502"] };
      for (const driver of ["wireguard", "vxlan"] as const) {
        for (const id of ["c1", "c2"]) {
          const r = await lab.joinCluster(id, ["--cable-driver", driver, ...(id === "c1" ? c1Flags[driver] : [])]);
          assert.match(r.stdout, /applied \d+ object/, r.stdout);
        }
        await until(
          `both endpoints on ${driver}`,
          async () => {
            const a = lab.admin();
            try {
              const eps = (await a.list("endpoint")).records.map((x) => JSON.parse(x.valueJson) as { backend: string });
              return eps.length === 2 && eps.every((e) => e.backend === driver) ? true : undefined;
            } finally {
              a.close();
            }
          },
          60_000,
        );
        await lab.waitConnected(60_000);
        await assertPodReaches(lab, "c1/n1/p0", "c2/n2/p0");
        await assertPodReaches(lab, "c2/n1/p0", "c1/n2/p0");
        for (const id of ["c1", "c2"]) {
          const links = await gwLinks(id);
          // The other driver's leftovers are gone.
          if (driver === "wireguard") assert.doesNotMatch(links, /vxlan-tunnel/);
          else assert.doesNotMatch(links, /causeway-wg/);
        }
        if (driver === "wireguard") {
          assert.equal((await wg("c1", "listen-port")).stdout.trim(), "4501");
          assert.match((await wg("c2", "endpoints")).stdout, /\t198\.18\.1\.10:4501\n/, "c2 dials c1 on c1's port");
          assert.equal((await wg("c2", "listen-port")).stdout.trim(), "4500");
        } else {
          const dev = JSON.parse((await lab.exec("c1/n0", ["ip", "-j", "-d", "link", "show", "vxlan-tunnel"])).stdout) as {
            linkinfo: { info_data: { port: number } };
          }[];
          assert.equal(dev[0]?.linkinfo.info_data.port, 4502);
          assert.match((await lab.exec("c2/n0", ["bridge", "fdb", "show", "dev", "vxlan-tunnel"])).stdout, /dst 198\.18\.1\.10 port 4502/);
        }
      }
      await lab.joinCluster("c1", ["--cable-driver", "vxlan"]);
      await lab.waitConnected(60_000);
    });

    it("the seeds' command lines: join … --clusterid --natt=false --cable-driver vxlan --health-check=false, then show all prints the endpoints", async () => {
      // Seed 1: deploy-broker through the CLI (the lab's broker is deployed already: nothing changes, broker-info is rewritten).
      const db = await causeway(["deploy-broker", "--kubeconfig", kc("c1"), "--context", "c1", "-o", lab.state.kube?.brokerInfo ?? ""]);
      assert.equal(db.exitCode, 0, db.stdout + db.stderr);
      assert.match(db.stdout, /the broker is deployed already; nothing changed/);
      // Seed 2: join with subctl's flags.
      const r = await lab.joinCluster("c2", ["--clusterid", "c2", "--natt=false", "--cable-driver", "vxlan", "--health-check=false"]);
      assert.match(r.stdout, /applied \d+ object/, r.stdout);
      const client = await lab.kubeClient("c2");
      try {
        const cm = await client.get<{ data: Record<string, string> }>(kube.R.configMap, "causeway-system", "causeway-config");
        assert.equal(cm.data.natt, "false");
        assert.equal(cm.data.healthCheck, "false");
        // The rolled gateway pod (join waited for it) started with health checks off: its start line in its log says so.
        const gw = (
          await client.list<{ metadata: kube.ObjectMeta; spec: { nodeName?: string } }>(kube.R.pod, SYSTEM_NAMESPACE, {
            labelSelector: "app.kubernetes.io/name=causeway-gateway",
          })
        ).items.find((p) => p.spec.nodeName === "n0");
        assert.ok(gw);
        const dir = join(lab.state.dir, "nodes", "c2-n0", "pods", `${SYSTEM_NAMESPACE}_${gw.metadata.name}_${gw.metadata.uid ?? ""}`, "gateway");
        const start = await until(
          "the gateway's start line",
          async () =>
            readdirSync(dir)
              .flatMap((f) => readFileSync(join(dir, f), "utf8").split("\n"))
              .find((l) => l.includes("causeway-gateway started")),
          30_000,
        );
        assert.match(start, /"healthCheck":"off"/);
      } finally {
        client.close();
      }
      await lab.waitConnected(60_000);
      const show = await causeway(["show", "all", "--kubeconfig", kc("c2"), "--context", "c2"]);
      assert.equal(show.exitCode, 0, show.stderr);
      assert.match(show.stdout, /c2\s+198\.18\.2\.10\s+198\.18\.2\.10\s+vxlan\s+local/);
      const brokers = await causeway(["show", "brokers", "--kubeconfig", kc("c2"), "--context", "c2"]);
      assert.match(brokers.stdout, /CONTEXT\s+CLUSTER ID\s+BROKER\nc2\s+c2\s+198\.18\.1\.10:3\d{4}/, brokers.stdout + brokers.stderr);
      // Health checks back on for what follows.
      await lab.joinCluster("c2", ["--health-check=true"]);
      await lab.waitConnected(60_000);
    });

    it("verify between two contexts, through their API servers: one clusterset, endpoints both ways, connections both ways, an export round trip", async () => {
      // Without the test pods (--no-pods): the API-level checks only (with them: kube/real.test.ts).
      const r = await causeway([
        "verify",
        "--kubeconfig",
        `${kc("c1")},${kc("c2")}`,
        "--context",
        "c1,c2",
        "--no-pods",
        "--junit-report",
        join(lab.state.dir, "verify.xml"),
      ]);
      assert.equal(r.exitCode, 0, r.stdout + r.stderr);
      for (const line of [
        /✓ c1 and c2 are members of one clusterset/,
        /✓ c1 holds c2's gateway endpoint/,
        /✓ c2 → c1 gateway connection/,
        /✓ a Service exported in c2 is imported in c1/,
        /✓ all 6 checks passed/,
      ])
        assert.match(r.stdout, line);
      assert.match(readFileSync(join(lab.state.dir, "verify.xml"), "utf8"), /<testsuite [^>]*tests="6" failures="0"/);
      // Nothing of the check is left behind (once the controller manager has finalized its namespace).
      for (const id of ["c1", "c2"]) {
        const client = await lab.kubeClient(id);
        try {
          await until(
            `${id} without causeway-verify`,
            async () => ((await client.find(kube.R.namespace, undefined, "causeway-verify")) ? undefined : true),
            60_000,
          );
        } finally {
          client.close();
        }
      }
    });

    describe("bad input: a clear error, exit 2, nothing half-applied", () => {
      const info = () => lab.state.kube?.brokerInfo ?? "";
      const expectRefused = async (args: readonly string[], pattern: RegExp, withinMs = 30_000) => {
        const t0 = Date.now();
        const r = await causeway(args);
        assert.equal(r.exitCode, 2, `exit ${r.exitCode}: ${r.stdout}${r.stderr}`);
        assert.match(r.stderr, pattern);
        assert.ok(Date.now() - t0 < withinMs, `answered in ${Date.now() - t0} ms`);
        assert.deepEqual(await brokerClusters(), ["c1", "c2"], "nothing registered at the broker");
        return r;
      };

      it("a kubeconfig that points nowhere: an error within seconds", async () => {
        const nowhere = join(lab.state.dir, "nowhere.kubeconfig");
        apiServerOf(lab.state.name, lab.state.dir, lab.cluster("c1").spec).writeKubeconfig(nowhere, {
          context: "nowhere",
          server: "https://198.18.99.99:6443",
          socket: false,
        });
        await expectRefused(
          ["join", info(), "--kubeconfig", nowhere, "--clusterid", "c9"],
          /cannot reach the API server https:\/\/198\.18\.99\.99:6443/,
          10_000,
        );
      });

      it("missing RBAC: the error names the missing permissions", async () => {
        const limited = join(lab.state.dir, "limited.kubeconfig");
        apiServerOf(lab.state.name, lab.state.dir, lab.cluster("c2").spec).writeKubeconfig(limited, {
          context: "c2",
          user: "limited",
          server: `https://${lab.state.kube?.apis.c2?.underlayIp}:6443`,
        });
        const r = await expectRefused(
          ["join", info(), "--kubeconfig", limited, "--clusterid", "c9", "--clustercidr", "10.9.0.0/16", "--servicecidr", "10.109.0.0/16"],
          /lacks \d+ permission/,
        );
        assert.match(r.stderr, /create customresourcedefinitions\.apiextensions\.k8s\.io \(cluster-wide\)/);
        assert.match(r.stderr, /patch daemonsets\.apps in namespace causeway-system/);
      });

      it("a corrupt broker-info, and one for another broker", async () => {
        const corrupt = join(lab.state.dir, "corrupt.subm");
        writeFileSync(corrupt, "this is not base64 {}");
        await expectRefused(["join", corrupt, "--kubeconfig", kc("c2"), "--context", "c2", "--clusterid", "c9"], /is corrupt/);
        const other = join(lab.state.dir, "other.subm");
        writeFileSync(other, encodeBrokerInfo({ ...readBrokerInfo(info()), adminToken: "cwa.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" }));
        await expectRefused(["join", other, "--kubeconfig", kc("c2"), "--context", "c2", "--clusterid", "c9"], /for another broker/);
      });

      it("an unknown cable driver is refused, naming the supported ones", async () => {
        await expectRefused(
          ["join", info(), "--kubeconfig", kc("c2"), "--context", "c2", "--cable-driver", "ipsec"],
          /unknown cable driver "ipsec"; supported: vxlan, wireguard/,
        );
      });

      it("a duplicate cluster id is refused", async () => {
        await expectRefused(
          ["join", info(), "--kubeconfig", kc("c2"), "--context", "c2", "--clusterid", "c1"],
          /cluster id "c1" is already joined .* by another cluster/,
        );
      });

      it("CIDRs that cannot be discovered: asks for the flag", async () => {
        const client = await lab.kubeClient("c2");
        const saved = await client.get<{ data: Record<string, string> }>(kube.R.configMap, "kube-system", "kubeadm-config");
        try {
          await client.delete(kube.R.configMap, "kube-system", "kubeadm-config");
          await expectRefused(
            ["join", info(), "--kubeconfig", kc("c2"), "--context", "c2", "--clusterid", "c9"],
            /cannot discover the pod CIDR .* pass --clustercidr/,
          );
        } finally {
          await client.apply(
            kube.R.configMap,
            { metadata: { name: "kubeadm-config", namespace: "kube-system" }, ...{ data: saved.data } },
            { fieldManager: "causeway-lab" },
          );
          client.close();
        }
      });

      it("a CRD version mismatch: a component's new pod refuses to start naming the CRD; join repairs it", async () => {
        const client = await lab.kubeClient("c2");
        type Pod = {
          metadata: kube.ObjectMeta;
          spec: { nodeName?: string };
          status?: { containerStatuses?: { ready: boolean; lastState?: { terminated?: { exitCode: number; message?: string } } }[] };
        };
        const agent = async () =>
          (await client.list<Pod>(kube.R.pod, SYSTEM_NAMESPACE, { labelSelector: "app.kubernetes.io/name=causeway-route-agent" })).items.find(
            (p) => p.spec.nodeName === "n2" && !p.metadata.deletionTimestamp,
          );
        try {
          await client.apply(
            kube.R.crd,
            { metadata: { name: "endpoints.causeway.io", annotations: { [SCHEMA_HASH_ANNOTATION]: "0000000000000000" } } },
            { fieldManager: "someone-else" },
          );
          const old = await agent();
          assert.ok(old);
          await client.delete(kube.R.pod, SYSTEM_NAMESPACE, old.metadata.name);
          // The replacement exits 2; its termination message (the log's tail) names the CRD and the fix.
          const ended = await until(
            "the new route agent's pod ends",
            async () => {
              const p = await agent();
              return p && p.metadata.uid !== old.metadata.uid ? p.status?.containerStatuses?.[0]?.lastState?.terminated : undefined;
            },
            60_000,
          );
          assert.equal(ended.exitCode, 2, JSON.stringify(ended));
          assert.match(
            ended.message ?? "",
            /endpoints\.causeway\.io has schema 0000000000000000.*re-run 'causeway join'|re-run 'causeway join'.*endpoints\.causeway\.io has schema 0000000000000000/,
          );
          // join repairs the CRD and waits until the pod runs again (the kubelet restarts it after its back-off).
          const r = await lab.joinCluster("c2");
          assert.match(r.stdout, /Causeway's pods are ready/, r.stdout);
          const crd = await client.get<{ metadata: kube.ObjectMeta }>(kube.R.crd, undefined, "endpoints.causeway.io");
          assert.notEqual(crd.metadata.annotations?.[SCHEMA_HASH_ANNOTATION], "0000000000000000");
        } finally {
          client.close();
        }
      });
    });
  },
);
