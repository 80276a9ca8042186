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
import { SYSTEM_NAMESPACE } from "@causeway/api";
import { kube, ProcessRunner } from "@causeway/common";
import { Lab, REPO_ROOT, until } from "@causeway/lab";
import { assertPodReaches } from "../dataplane/checks.ts";

const root = process.getuid?.() === 0;
const NAME = "cwsd";

describe("the seed's flow verbatim on real nodes: deploy-broker, join ks1, join ks2, show all", { skip: root ? false : "needs root", timeout: 600_000 }, () => {
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
});
