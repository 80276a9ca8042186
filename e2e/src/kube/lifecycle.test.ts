/**
 * Life cycle on real nodes: what operators do to nodes and pods, with a UDP probe every 20 ms
 * both ways between non-gateway pods of two clusters — the active gateway's pod deleted, a
 * node's kubelet restarted, a node's containerd restarted, every component rolled to a new image
 * tag. Each case prints its outage per direction; traffic resumes and everything is connected after.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { SYSTEM_NAMESPACE } from "@causeway/api";
import { kube, ProcessRunner } from "@causeway/common";
import { BrokerConnection } from "@causeway/common/broker-client";
import { IMAGE } from "@causeway/deploy";
import { GATEWAY_LEASE } from "@causeway/gateway";
import {
  assertResumed,
  failGateway,
  Lab,
  REPO_ROOT,
  OUTAGE_BOUND_MS,
  KUBE_LINK_OUTAGE_BOUND_MS,
  podPids,
  Probes,
  type ProbeResult,
  outageLogs,
  recoverGateway,
  until,
  waitWorkloadsReady,
} from "@causeway/lab";
import { upConnected } from "../fixture.ts";

const root = process.getuid?.() === 0;
const NAME = "cwlc";
const PAIRS = [
  ["c1/n1/p0", "c2/n1/p0"],
  ["c2/n1/p0", "c1/n1/p0"],
] as const;
/** The longest outage allowed per case: no case may break the data path for longer than a gateway failover does (README: stop 1200 ms, link 2000 ms). */
const BOUND_MS = { "gateway pod deleted": 2000, "kubelet restarted": 0, "containerd restarted": 0, "image rolled": 2000, "credential rotated": 2000 } as const;

describe("life cycle on real nodes: probes every 20 ms both ways between non-gateway pods", { skip: root ? false : "needs root", timeout: 900_000 }, () => {
  let lab: Lab;
  const run = new ProcessRunner(60_000);
  before(async () => {
    lab = await upConnected({ name: NAME, clusters: 2, nodes: 2, kube: true });
  });
  after(async () => {
    await Lab.down(NAME);
  });

  /** Runs `act` under the probes; asserts traffic resumed within the case's bound and the cables are connected after; prints the outages. */
  const underProbes = async (name: keyof typeof BOUND_MS, act: () => Promise<void>) => {
    const probes = new Probes(lab, PAIRS, 20);
    await probes.answering();
    await new Promise((r) => setTimeout(r, 1500));
    await act();
    await lab.waitConnected(60_000);
    await new Promise((r) => setTimeout(r, 3000));
    const results: Record<string, ProbeResult> = await probes.stop();
    const line = Object.entries(results)
      .map(([dir, r]) => `${dir} ${r.maxOutageMs} ms (${r.sent - r.answered} of ${r.sent} lost)`)
      .join(", ");
    console.log(`# real nodes, ${name}: outage ${line}`);
    for (const [dir, r] of Object.entries(results)) {
      assert.ok(r.answered > 0 && r.lostAtEnd === 0, `${name} ${dir}: traffic did not resume: ${JSON.stringify(r)}`);
      assert.ok(r.maxOutageMs <= BOUND_MS[name], `${name} ${dir}: outage ${r.maxOutageMs} ms, more than ${BOUND_MS[name]} ms`);
    }
  };

  it("the active gateway's pod deleted: its DaemonSet's new pod takes over", async () => {
    await underProbes("gateway pod deleted", () => lab.restart("c1", "gateway/n0").then(() => undefined));
  });

  for (const node of ["n1", "n0"]) {
    it(`kubelet restarted on ${node} of both clusters: the running pods and the data path are untouched`, async () => {
      await underProbes("kubelet restarted", async () => {
        for (const c of ["c1", "c2"]) await lab.restart(c, `kubelet/${node}`);
      });
    });
  }

  it("containerd restarted on every node of c2: the containers keep running, the data path is untouched", async () => {
    await underProbes("containerd restarted", async () => {
      for (const n of ["n0", "n1"]) await lab.restart("c2", `containerd/${n}`);
    });
    const client = await lab.kubeClient("c2");
    try {
      await waitWorkloadsReady(client, SYSTEM_NAMESPACE, 60_000);
    } finally {
      client.close();
    }
  });

  it("c2's broker credential rotated (--grace 0) and installed with its kubeconfig: its pods roll onto it, the old one is refused, traffic keeps flowing", async () => {
    const b = lab.state.broker;
    const conn = (token: string) =>
      new BrokerConnection({
        address: b.socket,
        token,
        ...(b.adminTls ? { ca: readFileSync(b.adminTls.caFile, "utf8"), serverName: b.adminTls.serverName } : {}),
      });
    const client = await lab.kubeClient("c2");
    const tokenOf = async () =>
      Buffer.from(
        (await client.get<{ data: Record<string, string> }>(kube.R.secret, SYSTEM_NAMESPACE, kube.BROKER_SECRET)).data.token ?? "",
        "base64",
      ).toString("utf8");
    try {
      const old = await tokenOf();
      await underProbes("credential rotated", async () => {
        const r = await run.run(
          "ip",
          [
            ...["netns", "exec", b.ns, process.execPath, join(REPO_ROOT, "cli/src/main.ts"), "broker", "credentials", "rotate", "c2", "--grace", "0"],
            ...["--broker-info", lab.state.kube?.brokerInfo ?? "", "--kubeconfig", lab.state.kube?.apis.c2?.kubeconfig ?? ""],
          ],
          { allowFailure: true },
        );
        assert.equal(r.exitCode, 0, r.stdout + r.stderr);
        await waitWorkloadsReady(client, SYSTEM_NAMESPACE, 60_000);
      });
      const fresh = await tokenOf();
      assert.notEqual(fresh, old);
      const [o, n] = [conn(old), conn(fresh)];
      try {
        await assert.rejects(o.whoAmI(), /unknown credential for cluster c2/);
        assert.equal((await n.whoAmI()).clusterId, "c2");
      } finally {
        o.close();
        n.close();
      }
    } finally {
      client.close();
    }
  });

  it("every component rolled to a new image tag (join --image-override): the pods roll, traffic keeps flowing", async () => {
    const rolled = `${IMAGE}-rolled`;
    await lab.tagImage(rolled);
    await underProbes("image rolled", async () => {
      await lab.joinCluster("c1", ["--image-override", rolled]);
    });
    const client = await lab.kubeClient("c1");
    try {
      const pods = await client.list<{ spec: { containers: { image: string }[] } }>(kube.R.pod, SYSTEM_NAMESPACE);
      assert.ok(pods.items.length > 0 && pods.items.every((p) => p.spec.containers[0]?.image === rolled), "every Causeway pod of c1 runs the new tag");
    } finally {
      client.close();
    }
  });
});

describe("gateway redundancy on real nodes: two candidates per cluster, the active one fails", { skip: root ? false : "needs root", timeout: 900_000 }, () => {
  let lab: Lab;
  const HA = "cwlh";
  const pairs = [
    ["c1/n2/p0", "c2/n2/p0"],
    ["c2/n2/p0", "c1/n2/p0"],
  ] as const;
  before(async () => {
    lab = await upConnected({ name: HA, clusters: 2, nodes: 3, gateways: 2, kube: true });
  });
  after(async () => {
    if (process.env.CAUSEWAY_E2E_KEEP !== "1") await Lab.down(HA);
  });

  /** Each gateway's HA status in cluster `id` (its Gateway objects), by node. */
  const statuses = async (id: string): Promise<Record<string, string>> => {
    const client = await lab.kubeClient(id);
    try {
      const gws = await client.list<{ metadata: kube.ObjectMeta; status?: { haStatus?: string } }>(kube.R.gateway, SYSTEM_NAMESPACE);
      return Object.fromEntries(gws.items.map((g) => [g.metadata.name, g.status?.haStatus ?? ""]));
    } finally {
      client.close();
    }
  };
  const active = async (id: string) => Object.entries(await statuses(id)).find(([, s]) => s === "active")?.[0] ?? "";
  const leaseHolder = async (id: string) => {
    const client = await lab.kubeClient(id);
    try {
      return (await client.get<{ spec: kube.LeaseRecord }>(kube.R.lease, SYSTEM_NAMESPACE, GATEWAY_LEASE)).spec.holderIdentity;
    } finally {
      client.close();
    }
  };
  const WHAT = { kill: "container killed (SIGKILL)", stop: "container stopped (its pod deleted)", link: "node's underlay link cut" } as const;
  // The link is cut in c2: c1 holds the broker, and members dial its NodePort on c1's gateway nodes; cutting one of
  // those is the broker's node failing as well (the members' connections to it wait out gRPC keepalive).
  const CLUSTER = { kill: "c1", stop: "c1", link: "c2" } as const;

  for (const kind of ["kill", "stop", "link"] as const) {
    const id = CLUSTER[kind];
    const bound = kind === "link" ? KUBE_LINK_OUTAGE_BOUND_MS : OUTAGE_BOUND_MS[kind];
    it(`${id}'s active gateway's ${WHAT[kind]}: traffic resumes within ${bound} ms; ${kind === "kill" ? "the gateway active after" : "the standby takes the Lease"}; the other returns passive`, async () => {
      const was = await active(id);
      assert.ok(was, "an active gateway");
      const probes = new Probes(lab, pairs, 20);
      await probes.answering();
      await new Promise((r) => setTimeout(r, 1500));
      if (kind === "kill") {
        const gw = (await podPids(lab, id)).find((p) => p.pod.startsWith("causeway-gateway-") && p.node === was);
        assert.ok(gw, `the gateway pod's process on ${was}`);
        process.kill(gw.pid, "SIGKILL");
      } else if (kind === "stop") await lab.restart(id, `gateway/${was}`);
      else await failGateway(lab, id, was, "link");
      let now: string;
      try {
        // Killed, kubelet restarts the container at once and it may renew its own Lease before the standby takes it:
        // either way traffic must resume within the bound. Deleted or cut off, the standby takes over.
        now =
          kind === "kill"
            ? was
            : await until(
                "another node's gateway active, holding the Lease",
                async () => {
                  const a = await active(id);
                  return a && a !== was && (await leaseHolder(id)) === `${a}-causeway-gateway` ? a : undefined;
                },
                30_000,
              );
        await lab.waitConnected(60_000);
        await new Promise((r) => setTimeout(r, 3000));
        const results = await probes.stop();
        let outages: string;
        try {
          outages = assertResumed(results, kind, bound);
        } catch (err) {
          const nodes = ["c1", "c2"].flatMap((c) => ["n0", "n1"].map((n) => `${c}/${n}`));
          console.log(`# real nodes, HA ${kind}: the gateways' logs around the outages\n${outageLogs(lab, results, nodes)}`.replace(/\n/g, "\n#   "));
          throw err;
        }
        console.log(`# real nodes, HA ${kind} (${id}): active ${was} → ${await active(id)}; ${outages}`);
      } finally {
        await probes.stop();
        // Back on the underlay whatever this test found: the next test needs the node.
        if (kind === "link") await recoverGateway(lab, id, was, "link");
      }
      // One active, the other passive (a killed container back from its restart back-off; a node back on the underlay).
      const settled = await until(
        "one gateway active, the other passive",
        async () => {
          const st = await statuses(id);
          const v = Object.values(st).sort();
          return v.length === 2 && v[0] === "active" && v[1] === "passive" ? st : undefined;
        },
        90_000,
      );
      if (kind !== "kill") assert.equal(settled[now], "active", `${now} stays active: the returning gateway does not take over`);
    });
  }
});
