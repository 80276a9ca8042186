/**
 * The globalnet scenario, run on standalone labs and on real nodes: three clusters with kind's
 * CIDRs (pods 10.244.0.0/16, services 10.96.0.0/12 in every one) form one clusterset through
 * global CIDRs. A pod of c1 reaches c2's exported service by name and by its global IP, and each
 * pod of c3's headless export by its own global IP; the server sees one of c1's egress addresses.
 * Active-active by name still goes local first. An unexport frees the address within 1 s and
 * leaves nothing of it on any node or in any cluster's DNS; a re-export works. Killing the active
 * gateway of either end interrupts traffic no longer than the failover budget. A fourth cluster
 * with CIDRs of its own joins and reaches the others. Needs root.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { globalAddresses, intToIp, isNamespaceEgressIp, parseCidr, type ServiceExport } from "@causeway/api";
import { host, kube, ProcessRunner } from "@causeway/common";
import {
  activeGateway,
  assertResumed,
  failGateway,
  Lab,
  OUTAGE_BOUND_MS,
  podPids,
  Probes,
  outageLogs,
  recoverGateway,
  REPO_ROOT,
  until,
  type UpOptions,
  waitFailover,
} from "@causeway/lab";
import { upConnected } from "../fixture.ts";
import { labCli, podDig, podGet, podWaitBody, podWatchGone } from "../discovery/pods.ts";

const root = process.getuid?.() === 0;
/**
 * Under globalnet, the usual kill budget (1.2 s) holds for standalone labs' pods on other nodes
 * than the killed gateway's (measured 44–502 ms). Two cases take longer and are bounded here, as
 * README says: pods on the killed gateway's own node (the node keeps the dead gateway's cables and
 * translation until its gateway is back — restarted by the lab — and steps down, forgetting the
 * flows it translated; measured 1.3–2.4 s), and real nodes, where the killed container comes back
 * (kubelet) and leads again: the kernel's cables and table outlive the container, and so do
 * userspace WireGuard's devices, run by the pod's keeper (0 ms measured idle with VXLAN, 1.3–1.5 s
 * in CI; WireGuard 0, 0 and 1590 ms since the keeper, 1.3–2.7 s before it, when the devices died
 * with the container).
 */
const GLOBALNET_SLOW_KILL_MS = 4000;
const name = (svc: string) => `${svc}.default.svc.clusterset.local`;

export interface GlobalnetTier {
  /** The lab's name. */
  readonly lab: string;
  readonly cable: "vxlan" | "wireguard";
  /** Real nodes (Causeway from its image) with kube-proxy in this mode; absent: a standalone lab. */
  readonly kubeProxyMode?: "iptables" | "nftables";
}

/** A cluster's global CIDR and each cluster's exports of `svc`, as the broker holds them. */
async function brokerState(lab: Lab, svc: string): Promise<{ globalCidr: Map<string, string>; exports: Map<string, ServiceExport> }> {
  const admin = lab.admin();
  try {
    const clusters = (await admin.list("cluster")).records.map((r) => JSON.parse(r.valueJson) as { cluster_id: string; global_cidr: string[] });
    const exports = (await admin.list("export")).records.filter((r) => r.name === `default.${svc}`);
    return {
      globalCidr: new Map(clusters.map((c) => [c.cluster_id, c.global_cidr[0] ?? ""])),
      exports: new Map(exports.map((r) => [r.clusterId, JSON.parse(r.valueJson) as ServiceExport])),
    };
  } finally {
    admin.close();
  }
}

/** Every node of the lab whose nftables or iptables rules mention `ip`. */
async function nodesHolding(lab: Lab, ip: string): Promise<string[]> {
  const hits: string[] = [];
  for (const c of lab.state.clusters) {
    for (const n of c.spec.nodes) {
      const target = `${c.spec.id}/${n.name}`;
      const nft = await lab.exec(target, ["nft", "list", "ruleset"]);
      const ipt = await lab.exec(target, ["iptables-save"]);
      if (`${nft.stdout}\n${ipt.stdout}`.split(/[^0-9.]/).includes(ip)) hits.push(target);
    }
  }
  return hits;
}

/** The body when the GET succeeded, else undefined (for until). */
function ok(body: string): string | undefined {
  return body.startsWith("error ") ? undefined : body;
}

/** The body of a GET from `from` once one succeeds (`timeoutMs`, 20 s by default); else an error saying what the name resolved to and what the GET got. */
async function reach(lab: Lab, from: string, target: string, timeoutMs = 20_000): Promise<string> {
  let last = "";
  try {
    return await until(`${from} reaches ${target}`, async () => ok((last = await podGet(lab, from, target))), timeoutMs);
  } catch (err) {
    throw new Error(`${from} → ${target}: resolves to ${JSON.stringify(await podDig(lab, from, target))}, GET: ${last}`, { cause: err });
  }
}

/** Withdraws `svc`'s export from `cluster` as `causeway unexport service` does; returns when the write was made (ms since the epoch). */
async function unexport(lab: Lab, cluster: string, svc: string, kubeTier: boolean): Promise<number> {
  if (kubeTier) {
    const client = await lab.kubeClient(cluster);
    try {
      const t0 = Date.now();
      await client.delete(kube.R.serviceExport, "default", svc);
      return t0;
    } finally {
      client.close();
    }
  }
  const admin = lab.admin();
  try {
    const t0 = Date.now();
    await admin.delete("export", cluster, `default.${svc}`);
    return t0;
  } finally {
    admin.close();
  }
}

/** Kills `cluster`'s active gateway (real nodes: its container, which its kubelet restarts); returns who carries the traffic after. */
async function killActiveGateway(lab: Lab, cluster: string, kubeTier: boolean): Promise<string> {
  const was = await activeGateway(lab, cluster);
  if (!kubeTier) {
    await failGateway(lab, cluster, was, "kill");
    const now = await waitFailover(lab, cluster, was);
    await recoverGateway(lab, cluster, was, "kill");
    return `${was} killed, ${now} took over`;
  }
  const gw = (await podPids(lab, cluster)).find((p) => p.pod.startsWith("causeway-gateway-") && p.node === was);
  assert.ok(gw, `the gateway pod's process on ${was}`);
  process.kill(gw.pid, "SIGKILL");
  await lab.waitConnected(60_000);
  return `${was}'s container killed, ${await activeGateway(lab, cluster)} active after`;
}

/**
 * What a cluster's nodes hold when traffic did not resume after a gateway kill (printed before the
 * failure is thrown, for CI's record): ip rules, table 100, links, nftables tables, the conntrack
 * entries to the target, and the tail of each node's gateway and route agent logs.
 */
async function dumpGatewayState(lab: Lab, cluster: string, target: string): Promise<void> {
  const c = lab.cluster(cluster);
  const tail = (role: string) => {
    const p = c.processes.find((x) => x.role === role);
    try {
      return p ? readFileSync(p.log, "utf8").trim().split("\n").slice(-25).join("\n") : "(no process)";
    } catch {
      return "(no log)";
    }
  };
  for (const n of c.spec.nodes) {
    const at = `${cluster}/${n.name}`;
    const out: string[] = [];
    for (const argv of [
      ["ip", "rule"],
      ["ip", "route", "show", "table", "100"],
      ["ip", "-br", "link"],
      ["nft", "list", "tables"],
      ["conntrack", "-L", "-d", target],
    ]) {
      const r = await lab.exec(at, argv, 5000).catch((err: unknown) => ({ stdout: "", stderr: String(err) }));
      out.push(`$ ${argv.join(" ")}`, `${r.stdout}${r.stderr}`.trim());
    }
    out.push("gateway log:", tail(`gateway/${n.name}`), "route agent log:", tail(`route-agent/${n.name}`));
    console.log(`--- ${at} after the gateway kill\n${out.join("\n")}`.replaceAll("\n", "\n# "));
  }
}

/** Real nodes: `node`'s gateway made the active one of `cluster` (the active one's pod deleted: its standby takes over; its replacement returns passive). */
async function makeActive(lab: Lab, cluster: string, node: string): Promise<void> {
  const now = await activeGateway(lab, cluster);
  if (now === node) return;
  await lab.restart(cluster, `gateway/${now}`);
  await until(`${cluster}'s gateway on ${node} active`, async () => ((await activeGateway(lab, cluster)) === node ? true : undefined), 30_000);
  await lab.waitConnected(60_000);
}

/** The scenario on one tier and cable driver. */
export function globalnetScenario(t: GlobalnetTier): void {
  const kubeTier = t.kubeProxyMode !== undefined;
  const tier = kubeTier ? `real nodes, kube-proxy ${t.kubeProxyMode}` : "standalone";
  const ready = root && (t.cable === "vxlan" || (host.onPath("wg") && host.onPath("wireguard-go")));
  // Real nodes are heavier: two nodes a cluster (both gateway candidates), the client pod on n1.
  const nodes = kubeTier ? 2 : 3;
  const POD = `c1/n${nodes - 1}/p0`;
  const pod = (c: string) => `${c}/n${nodes - 1}/p0`;
  const opts: UpOptions & { name: string } = {
    name: t.lab,
    clusters: 3,
    nodes,
    gateways: 2,
    globalnet: true,
    cable: t.cable,
    ...(t.kubeProxyMode ? { kube: true, kubeProxyMode: t.kubeProxyMode } : {}),
  };
  describe(`globalnet (${tier}), ${t.cable} cable`, { skip: ready ? false : "needs root (and wg + wireguard-go for WireGuard)", timeout: 900_000 }, () => {
    const { exportFrom } = labCli(t.lab);
    const label = `# globalnet ${tier} ${t.cable}`;
    let lab: Lab;
    before(async () => {
      lab = await upConnected(opts, 120_000);
      await lab.addService("c2/default/web", { pods: 2 });
      await lab.addService("c3/default/db", { pods: 2, headless: true });
      await exportFrom("web", "c2");
      await exportFrom("db", "c3");
    });
    after(async () => {
      if (process.env.CAUSEWAY_E2E_KEEP !== "1") await Lab.down(t.lab);
    });

    it("the clusters share kind's CIDRs and each has its own global CIDR", async () => {
      assert.deepEqual([...new Set(lab.state.clusters.map((c) => c.spec.podCidr))], ["10.244.0.0/16"]);
      assert.deepEqual([...new Set(lab.state.clusters.map((c) => c.spec.serviceCidr))], ["10.96.0.0/12"]);
      const { globalCidr } = await brokerState(lab, "web");
      const cidrs = ["c1", "c2", "c3"].map((c) => globalCidr.get(c) ?? "");
      assert.equal(new Set(cidrs).size, 3, cidrs.join(" "));
      for (const g of cidrs) assert.match(g, /^242\.\d+\.0\.0\/16$/);
    });

    it("a pod of c1 reaches c2's service by name and by global IP; c3's headless pods by their global IPs; the server sees c1's egress address", async () => {
      const ip = await until("web has a global IP", async () => (await brokerState(lab, "web")).exports.get("c2")?.globalIp, 20_000);
      assert.match(await reach(lab, POD, name("web")), /^c2\/web-[01]$/);
      assert.match(await reach(lab, POD, ip), /^c2\/web-[01]$/);
      const db = await until(
        "db's endpoints have global IPs",
        async () => {
          const e = (await brokerState(lab, "db")).exports.get("c3");
          const ips = (e?.endpoints ?? []).map((x) => x.globalIp ?? "");
          return ips.length === 2 && ips.every(Boolean) ? ips.sort() : undefined;
        },
        20_000,
      );
      const answers = await until(
        "db resolves to both global IPs",
        async () => {
          const a = await podDig(lab, POD, name("db"));
          return Array.isArray(a) && a.length === 2 ? [...a].sort() : undefined;
        },
        20_000,
      );
      assert.deepEqual(answers, db);
      const served = await Promise.all(db.map((a) => reach(lab, POD, a)));
      assert.deepEqual(served.sort(), ["c3/db-0", "c3/db-1"]);
      const egress = globalAddresses((await brokerState(lab, "web")).globalCidr.get("c1") ?? "")?.egressIPs ?? [];
      const seen = await podGet(lab, POD, name("web"), "/client");
      assert.ok(egress.includes(seen), `the server saw ${seen}; c1's egress pool is ${egress.join(", ")}`);
    });

    it(
      "a namespace's own egress pool (GlobalEgressIP, real nodes): the status names its addresses, c2's server sees one of them; deleted, c1's pool again",
      {
        skip: kubeTier ? false : "a Kubernetes resource (standalone sites have no namespaces of pods)",
      },
      async () => {
        const globalCidr = (await brokerState(lab, "web")).globalCidr.get("c1") ?? "";
        const client = await lab.kubeClient("c1");
        try {
          const object = { metadata: { name: "tenant", namespace: "default" }, spec: { numberOfIPs: 2, podSelector: { matchLabels: { app: "echo" } } } };
          await client.apply(kube.R.globalEgressIP, object, { fieldManager: "causeway-e2e" });
          const pool = await until(
            "the GlobalEgressIP's addresses in its status",
            async () => {
              const o = await client.get<{ status?: { allocatedIPs?: string[] } }>(kube.R.globalEgressIP, "default", "tenant");
              return o.status?.allocatedIPs?.length === 2 ? o.status.allocatedIPs : undefined;
            },
            20_000,
          );
          for (const ip of pool) assert.ok(isNamespaceEgressIp(globalCidr, ip), `${ip} is of ${globalCidr}'s namespace egress range`);
          const seen = await until(
            "c2's server sees the namespace's pool",
            async () => {
              const from = await podGet(lab, POD, name("web"), "/client");
              return pool.includes(from) ? from : undefined;
            },
            20_000,
          );
          console.log(`${label}: the server sees ${seen}, of the namespace's pool ${pool.join(", ")}`);
          await client.delete(kube.R.globalEgressIP, "default", "tenant");
          const egress = globalAddresses(globalCidr)?.egressIPs ?? [];
          await until(
            "c2's server sees c1's pool again",
            async () => (egress.includes(await podGet(lab, POD, name("web"), "/client")) ? true : undefined),
            20_000,
          );
        } finally {
          await client.delete(kube.R.globalEgressIP, "default", "tenant").catch(() => undefined);
          client.close();
        }
      },
    );

    it("active-active by name: local first, the other cluster's within 4 s when the local pods are gone, local again when they are back", async () => {
      await lab.addService("c1/default/aa", { pods: 1 });
      await lab.addService("c2/default/aa", { pods: 1 });
      await exportFrom("aa", "c1", "c2");
      await until("c1's pod gets c1's aa", async () => ((await podGet(lab, POD, name("aa"))) === "c1/aa-0" ? true : undefined), 20_000);
      // A client in c1's pod asking every 50 ms (each request given 500 ms) tells when it first gets c2's.
      const reached = podWaitBody(lab, POD, name("aa"), /^c2\/aa-0$/, 20_000);
      reached.catch(() => undefined); // awaited below; a failure before that is the test's
      await new Promise((r) => setTimeout(r, 1500));
      const t0 = Date.now();
      await lab.scaleService("c1/default/aa", 0);
      const moved = (await reached) - t0;
      console.log(`${label}: c1's client reached c2's aa ${moved} ms after c1's pods were asked to stop`);
      // One probe interval (1 s), the broker round and the route agents' update: DNS keeps answering the clusterset IP, no TTL to wait out.
      assert.ok(moved <= 4000, `c1's client moved to c2's aa after ${moved} ms`);
      await lab.scaleService("c1/default/aa", 1);
      await until("back to c1's aa", async () => ((await podGet(lab, POD, name("aa"))) === "c1/aa-0" ? true : undefined), 20_000);
    });

    it("unexport: DNS stops answering and the global IP is free within 1 s, nothing of it remains anywhere; a re-export works", async () => {
      const old = (await brokerState(lab, "web")).exports.get("c2")?.globalIp ?? "";
      assert.ok(old);
      assert.ok((await nodesHolding(lab, old)).length > 0, "the exporting gateway translates it before");
      const gw = await activeGateway(lab, "c2");
      // Watchers in c1's and c3's pods first (they ask every 20 ms), then the unexport.
      const watchers = Promise.all([POD, pod("c3")].map((p) => podWatchGone(lab, p, name("web"))));
      await new Promise((r) => setTimeout(r, 1500));
      const t0 = await unexport(lab, "c2", "web", kubeTier);
      const freed = await until(
        "c2's gateway no longer translates it",
        async () => ((await lab.exec(`c2/${gw}`, ["nft", "list", "table", "ip", "causeway-globalnet"])).stdout.includes(old) ? undefined : Date.now() - t0),
        10_000,
      );
      const gone = Math.max(...(await watchers)) - t0;
      console.log(`${label}: unexport → ${old} untranslated ${freed} ms, the name NXDOMAIN in c1 and c3 ${gone} ms`);
      assert.ok(freed <= 1000, `the global IP is free within 1 s of the unexport, took ${freed} ms`);
      assert.ok(gone <= 1000, `DNS stops answering within 1 s of the unexport, took ${gone} ms`);
      const clean = await until(
        "no node keeps a rule with the old address",
        async () => ((await nodesHolding(lab, old)).length ? undefined : Date.now() - t0),
        10_000,
      );
      console.log(`${label}: no rule of ${old} on any node ${clean} ms after the unexport`);
      for (const c of ["c1", "c2", "c3"]) assert.equal(await podDig(lab, pod(c), name("web")), "ENOTFOUND", `${c}'s DNS`);
      assert.equal((await brokerState(lab, "web")).exports.size, 0);
      await exportFrom("web", "c2");
      const again = await until("web has a global IP again", async () => (await brokerState(lab, "web")).exports.get("c2")?.globalIp, 20_000);
      assert.match(await reach(lab, POD, name("web")), /^c2\/web-[01]$/);
      assert.match(await reach(lab, POD, again), /^c2\/web-[01]$/);
    });

    it("the active gateway of either end killed: traffic to c3's pod resumes within the failover budget, from a gateway node's pod too", async () => {
      const target = (await brokerState(lab, "db")).exports.get("c3")?.endpoints[0]?.globalIp ?? "";
      assert.ok(target);
      // A pod on a gateway candidate: its node's flows were translated there while it was active.
      const clients = [...new Set(["c1/n1/p0", POD])];
      // c1's two candidates each once. Real nodes: the one to kill is made active first (its
      // rival's pod deleted): a killed container often takes the Lease back, and kubelet restarts a
      // container killed again within minutes only after a back-off (10 s), which would be measured.
      const plan: [string, string | undefined][] = kubeTier
        ? [
            ["c3", undefined],
            ["c1", "n1"],
            ["c1", "n0"],
          ]
        : [
            ["c3", undefined],
            ["c1", undefined],
            ["c1", undefined],
          ];
      for (const [cluster, node] of plan) {
        if (node) await makeActive(lab, cluster, node);
        const probes = new Probes(
          lab,
          clients.map((c) => [c, target] as const),
          20,
          80,
        );
        await probes.answering();
        await new Promise((r) => setTimeout(r, 1500));
        const was = await activeGateway(lab, cluster);
        const what = await killActiveGateway(lab, cluster, kubeTier);
        await new Promise((r) => setTimeout(r, GLOBALNET_SLOW_KILL_MS + 3000));
        const results = await probes.stop();
        const onKilled = `c1/${was}/p0→${target}`;
        let summary: string[];
        try {
          summary = Object.entries(results).map(([dir, r]) => {
            const onItsNode = cluster === "c1" && dir === onKilled;
            const bound = onItsNode || kubeTier ? GLOBALNET_SLOW_KILL_MS : OUTAGE_BOUND_MS.kill;
            return `${assertResumed({ [dir]: r }, `${cluster} gateway killed`, bound)}${onItsNode ? " (on the killed gateway's node)" : ""}`;
          });
        } catch (err) {
          console.log(`${label}: ${cluster}'s active gateway ${what}; traffic did not resume as bound, the nodes' state follows`);
          for (const c of new Set([cluster, "c1"])) await dumpGatewayState(lab, c, target);
          const gws = [...new Set([cluster, "c1"])].flatMap((c) => lab.cluster(c).spec.nodes.map((n) => `${c}/${n.name}`));
          console.log(`# the gateways' logs around the outages\n${outageLogs(lab, results, gws)}`.replace(/\n/g, "\n#   "));
          throw err;
        }
        console.log(`${label}: ${cluster}'s active gateway ${what}: ${summary.join(", ")}`);
      }
    });

    it("a member that opts out of globalnet is refused, naming the flag; a global CIDR overlapping a member's is refused, naming both", async () => {
      const admin = lab.admin();
      try {
        const x = { cluster_id: "x9", cluster_cidr: ["10.9.0.0/16"], service_cidr: ["10.109.0.0/16"], global_cidr: [] };
        await assert.rejects(admin.join(x, { globalnetDisabled: true }), /the broker runs globalnet \(deploy-broker --globalnet.*without --globalnet=false/);
        const c1 = (await brokerState(lab, "web")).globalCidr.get("c1") ?? "";
        await assert.rejects(admin.join({ ...x, global_cidr: [c1] }), new RegExp(`CIDR ${c1.replaceAll(".", "\\.")} overlaps cluster c1 CIDR`));
        assert.equal((await admin.list("cluster")).records.filter((r) => r.clusterId === "x9").length, 0);
      } finally {
        admin.close();
      }
    });

    it("a fourth cluster with CIDRs of its own and the global CIDR it asks for joins the globalnet clusterset and reaches the others, and they it", async () => {
      // Real nodes: one (a cluster costs minutes to build on two CPUs).
      const n4 = kubeTier ? 1 : 2;
      const c4 = await lab.addCluster({ nodes: n4, distinctCidrs: true, globalnetCidr: "242.200.0.0/16" });
      assert.equal(c4.spec.podCidr, "10.4.0.0/16");
      assert.equal((await brokerState(lab, "web")).globalCidr.get("c4"), "242.200.0.0/16");
      await lab.waitConnected(120_000);
      await lab.addService("c4/default/four", { pods: 1 });
      await exportFrom("four", "c4");
      // A cluster that just joined (real nodes: its DNS, lighthouse and CoreDNS pods just started, on two CPUs with three other clusters) may take longer than a running one.
      assert.match(await reach(lab, `c4/n${n4 - 1}/p0`, name("web"), kubeTier ? 60_000 : 20_000), /^c2\/web-[01]$/);
      assert.equal(await reach(lab, POD, name("four")), "c4/four-0");
    });

    it("diagnose globalnet (the lab's view; on real nodes also --kubeconfig, with a pod on each gateway's node): all check out; an address no export holds is found; a gateway without its table is found, naming the node", async () => {
      const cli = (args: string[]) => labCli(t.lab).cli(args);
      const clusters = ["c1", "c2", "c3", "c4"];
      /** diagnose globalnet from the lab's broker view, and on real nodes also from the clusters' APIs (the operator's machine: the broker's namespace, whence the broker answers). */
      const diagnose = async (): Promise<{ exitCode: number | null; stdout: string }[]> => {
        const fromLab = await cli(["diagnose", "globalnet"]);
        if (!kubeTier) return [fromLab];
        const kcs = clusters.map((c) => lab.state.kube?.apis[c]?.kubeconfig ?? "").join(",");
        const args = ["netns", "exec", lab.state.broker.ns, process.execPath, join(REPO_ROOT, "cli/src/main.ts"), "diagnose", "globalnet", "--kubeconfig", kcs];
        return [fromLab, await new ProcessRunner(300_000).run("ip", args, { allowFailure: true })];
      };
      for (const ok of await diagnose()) {
        assert.equal(ok.exitCode, 0, ok.stdout);
        for (const c of clusters) assert.match(ok.stdout, new RegExp(`✓ globalnet translation of ${c} on its active gateway n\\d`), ok.stdout);
      }
      // An address the gateway's table translates though no export holds it: stale, named (the table's digest is unchanged: the gateway leaves it).
      const gw1 = await activeGateway(lab, "c1");
      // Near the end of c1's global CIDR (a /16): no export of this scenario gets it (allocation is by a hash of the name, the same every run).
      const strayIp = intToIp((parseCidr((await brokerState(lab, "web")).globalCidr.get("c1") ?? "")?.base ?? 0) + 65_000);
      const added = await lab.exec(`c1/${gw1}`, ["nft", "add", "element", "ip", "causeway-globalnet", "inbound", `{ ${strayIp} : 10.244.1.99 }`]);
      assert.equal(added.exitCode, 0, `nft add element on c1/${gw1}: ${added.stderr}`);
      try {
        for (const stale of await diagnose()) {
          assert.equal(stale.exitCode, 1, stale.stdout);
          assert.match(
            stale.stdout,
            new RegExp(
              `✗ globalnet translation of c1 on its active gateway ${gw1}: ${strayIp.replaceAll(".", "\\.")} still translated though no export holds it`,
            ),
          );
          assert.match(stale.stdout, /✓ globalnet translation of c2 /);
        }
      } finally {
        await lab.exec(`c1/${gw1}`, ["nft", "delete", "element", "ip", "causeway-globalnet", "inbound", `{ ${strayIp} }`]);
      }
      const gw = await activeGateway(lab, "c2");
      // The gateway puts a missing table back at its next pass (any change of its views starts one):
      // when a pass came between the deletion and diagnose's look, the table is deleted again (at most 5 tries).
      let bad: { exitCode: number | null; stdout: string } = { exitCode: 0, stdout: "" };
      for (let i = 0; i < 5 && bad.exitCode === 0; i++) {
        await lab.exec(`c2/${gw}`, ["nft", "delete", "table", "ip", "causeway-globalnet"]);
        bad = await cli(["diagnose", "globalnet"]);
      }
      assert.equal(bad.exitCode, 1, bad.stdout);
      assert.match(bad.stdout, new RegExp(`✗ globalnet translation of c2 on its active gateway ${gw}: no table ip causeway-globalnet on ${gw}`));
    });
  });
}
