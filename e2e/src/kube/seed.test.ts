/**
 * The seed's flow verbatim, on two clusters of real nodes with nothing of Causeway installed:
 * deploy-broker, join ks1, join ks2, show all — from the operator's machine (a host on the lab's
 * underlay, in no cluster: the lab never routes the host's own namespace into the lab), with the
 * clusters' kubeconfig files; then pod ↔ pod traffic between the clusters.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { crdObject, MCS_CRDS, SYSTEM_NAMESPACE } from "@causeway/api";
import { kube, ProcessRunner } from "@causeway/common";
import { Lab, REPO_ROOT, until } from "@causeway/lab";
import { assertPodReaches } from "../dataplane/checks.ts";

const root = process.getuid?.() === 0;
const NAME = "cwsd";

describe("the seed's flow verbatim on real nodes: deploy-broker, join ks1, join ks2, show all", { skip: root ? false : "needs root", timeout: 900_000 }, () => {
  let lab: Lab;
  let work: string;
  const run = new ProcessRunner(180_000);
  before(async () => {
    await Lab.down(NAME);
    lab = await Lab.up({ name: NAME, clusters: 2, nodes: 2, kube: true, install: false });
    work = mkdtempSync(join(tmpdir(), "cw-seed-"));
  });
  after(async () => {
    await Lab.down(NAME);
    rmSync(work, { recursive: true, force: true });
  });

  const config = (id: string) => lab.state.kube?.apis[id]?.kubeconfig ?? "";
  /** The seed's join line as typed, for a lab cluster as cluster id `cid`. */
  const joinLine = (id: string, cid: string) => [
    "join",
    "--kubeconfig",
    config(id),
    "broker-info.subm",
    "--clusterid",
    cid,
    "--natt=false",
    "--cable-driver",
    "vxlan",
    "--health-check=false",
  ];
  /** `causeway …` on the operator's machine, in a working directory of its own (broker-info.subm lands there). */
  const causeway = (args: readonly string[], env: readonly string[] = []) =>
    run.run("ip", ["netns", "exec", lab.state.broker.ns, "env", "-C", work, ...env, process.execPath, join(REPO_ROOT, "cli/src/main.ts"), ...args], {
      allowFailure: true,
    });

  it("the four command lines succeed as typed, and the clusters connect", async () => {
    const db = await causeway(["deploy-broker", "--kubeconfig", config("c1")]);
    assert.equal(db.exitCode, 0, db.stdout + db.stderr);
    // The address it chose and why: a node's ExternalIP (c1's gateway node on the underlay) with the NodePort.
    assert.match(db.stdout + db.stderr, /reach the broker at 198\.18\.1\.10:3\d{4} \(node n0's ExternalIP, the Service's NodePort\)/);
    for (const [id, cid] of [
      ["c1", "ks1"],
      ["c2", "ks2"],
    ] as const) {
      const j = await causeway(joinLine(id, cid));
      assert.equal(j.exitCode, 0, j.stdout + j.stderr);
    }
    for (const [id, other] of [
      ["c1", "ks2"],
      ["c2", "ks1"],
    ] as const) {
      const client = await lab.kubeClient(id);
      try {
        await until(
          `${id}'s active gateway connected to ${other}`,
          async () => {
            const gws = await client.list<{ status?: { haStatus?: string; connections?: { endpoint: { cluster_id: string }; status: string }[] } }>(
              kube.R.gateway,
              SYSTEM_NAMESPACE,
            );
            const active = gws.items.find((g) => g.status?.haStatus === "active");
            return active?.status?.connections?.some((c) => c.endpoint.cluster_id === other && c.status === "connected") ? true : undefined;
          },
          90_000,
        );
      } finally {
        client.close();
      }
    }
    const show = await causeway(["show", "all"], [`KUBECONFIG=${config("c1")}`]);
    assert.equal(show.exitCode, 0, show.stderr);
    assert.match(show.stdout, /ks1\s+198\.18\.1\.10\s+198\.18\.1\.10\s+vxlan\s+local/);
    assert.match(show.stdout, /ks2\s+198\.18\.2\.10\s+198\.18\.2\.10\s+vxlan\s+remote/);
    assert.match(show.stdout, /ks2\s+.*connected/);
  });

  for (const [from, to] of [
    ["c1/n1/p0", "c2/n1/p0"],
    ["c2/n1/p0", "c1/n1/p0"],
  ] as const) {
    it(`then pod ↔ pod: ${from} → ${to}, the server sees the client pod's IP`, async () => {
      await assertPodReaches(lab, from, to);
    });
  }

  it("join with an image the nodes do not have: exit 1 at once, naming the pods, the image and what to do; registered still; a re-run restores", async () => {
    const t0 = Date.now();
    const bad = await causeway([...joinLine("c2", "ks2"), "--image-override", "route-agent=causeway:0.0.0-missing", "--wait", "120"]);
    assert.equal(bad.exitCode, 1, bad.stdout + bad.stderr);
    assert.ok(Date.now() - t0 < 60_000, `failed after ${Date.now() - t0} ms, not at once`);
    assert.match(bad.stderr, /the nodes cannot get the image causeway:0\.0\.0-missing: causeway-route-agent-\w+ on n\d: (ErrImagePull|ImagePullBackOff)/);
    assert.match(bad.stderr, /ctr -n k8s\.io images import .*--image-override .*stays registered at the broker/);
    const show = await causeway(["show", "endpoints"], [`KUBECONFIG=${config("c1")}`]);
    assert.match(show.stdout, /ks2/, "ks2 is still a member");
    const again = await causeway(joinLine("c2", "ks2"));
    assert.equal(again.exitCode, 0, again.stdout + again.stderr);
    assert.match(again.stdout, /Causeway's pods are ready/);
  });

  it("deploy-broker with an address this machine cannot reach: exit 1 naming the address, the error and the flags", async () => {
    const r = await causeway(["deploy-broker", "--kubeconfig", config("c1"), "--broker-url", "198.18.99.99", "--wait", "60", "-o", "unreachable.subm"]);
    assert.equal(r.exitCode, 1, r.stdout + r.stderr);
    assert.match(
      r.stderr,
      /the broker runs, but 198\.18\.99\.99:3\d{4} does not answer from this machine within 30 s \(.+\); .*--broker-url <host\[:port\]>.*--service-type LoadBalancer/,
    );
  });

  it("another installer's MCS CRDs and ServiceExport: join and uninstall leave both as they are; CRDs serving no v1beta1 refuse join (exit 2), nothing applied", async () => {
    // ks2 out: with no MCS object left, uninstall removes the MCS CRDs Causeway installed.
    const out = await causeway(["uninstall", "--kubeconfig", config("c2"), "--yes"]);
    assert.equal(out.exitCode, 0, out.stdout + out.stderr);
    const client = await lab.kubeClient("c2");
    type Crd = { metadata: kube.ObjectMeta; spec: { versions: { name: string; served: boolean; storage: boolean }[] } };
    const names = MCS_CRDS.map((d) => `${d.plural}.${d.group}`);
    try {
      for (const n of names) assert.equal(await client.find(kube.R.crd, undefined, n), undefined, `${n} removed by uninstall`);
      /** The platform team's CRDs: upstream-shaped, their own labels, at the given versions. */
      const theirs = async (versions: string[]) => {
        for (const d of MCS_CRDS) {
          const o = crdObject(d) as unknown as Crd;
          o.metadata.labels = { "app.kubernetes.io/managed-by": "platform-team", "multicluster.x-k8s.io/release-version": "v0.5.0" };
          // Each version as upstream's: the same schema, status subresource and printer columns.
          const stored = o.spec.versions.find((v) => v.storage) ?? o.spec.versions[0];
          o.spec.versions = versions.map((name, i) => ({ ...stored, name, served: true, storage: i === versions.length - 1 }));
          await client.apply(kube.R.crd, o, { fieldManager: "platform-team" });
        }
        await until(
          "the platform team's CRDs established",
          async () => {
            for (const n of names) {
              const c = await client.get<{ status?: { conditions?: { type: string; status: string }[] } }>(kube.R.crd, undefined, n);
              if (!c.status?.conditions?.some((x) => x.type === "Established" && x.status === "True")) return undefined;
            }
            return true;
          },
          30_000,
        );
      };
      await theirs(["v1alpha1"]);
      const refused = await causeway(joinLine("c2", "ks2"));
      assert.equal(refused.exitCode, 2, refused.stdout + refused.stderr);
      assert.match(
        refused.stderr,
        /CRD serviceexports\.multicluster\.x-k8s\.io belongs to another installer and serves v1alpha1, not v1beta1.*upgrade the MCS CRDs/,
      );
      assert.equal(await client.find(kube.R.namespace, undefined, SYSTEM_NAMESPACE), undefined, "nothing applied");

      await theirs(["v1alpha1", "v1beta1"]);
      const se = await client.create<{ metadata: kube.ObjectMeta }>(kube.R.serviceExport, {
        metadata: { name: "theirs", namespace: "default", labels: { team: "platform" } },
      });
      const before = await Promise.all(names.map((n) => client.get<Crd>(kube.R.crd, undefined, n)));
      const joined = await causeway(joinLine("c2", "ks2"));
      assert.equal(joined.exitCode, 0, joined.stdout + joined.stderr);
      assert.match(joined.stdout, /serviceimports\.multicluster\.x-k8s\.io belongs to another installer \(mcs-api v0\.5\.0 .*\): used as it is/);
      // Causeway's lighthouse works through their CRDs: the export (of a Service that does not exist) gets its Valid condition.
      await until(
        "the lighthouse's Valid condition on the platform team's ServiceExport",
        async () => {
          const x = await client.get<{ status?: { conditions?: { type: string; reason?: string }[] } }>(kube.R.serviceExport, "default", "theirs");
          return x.status?.conditions?.find((c) => c.type === "Valid" && c.reason === "ServiceUnavailable");
        },
        30_000,
      );
      const unchanged = async (when: string) => {
        for (const [i, n] of names.entries()) {
          const now = await client.get<Crd>(kube.R.crd, undefined, n);
          assert.equal(now.metadata.resourceVersion, before[i]?.metadata.resourceVersion, `${n} untouched ${when}`);
          assert.equal(now.metadata.labels?.["app.kubernetes.io/part-of"], undefined);
        }
        const x = await client.get<{ metadata: kube.ObjectMeta }>(kube.R.serviceExport, "default", "theirs");
        assert.equal(x.metadata.uid, se.metadata.uid, `their ServiceExport kept ${when}`);
        assert.deepEqual(x.metadata.labels, { team: "platform" });
      };
      await unchanged("by join");
      const again = await causeway(["uninstall", "--kubeconfig", config("c2"), "--yes"]);
      assert.equal(again.exitCode, 0, again.stdout + again.stderr);
      await unchanged("by uninstall");
    } finally {
      client.close();
    }
  });
});
