/**
 * `causeway diagnose globalnet --kubeconfig …` on real clusters: for each named cluster under
 * globalnet, what its active gateway's translation table should hold (its global CIDR, the other
 * members', its exports' global IPs — read from the broker it joined, with its credential) is
 * handed to a host-network pod of Causeway's image on that gateway's node, which lists the table
 * there (`nft -j`) and reports the findings (`causeway diagnose-node globalnet`, the image's own
 * CLI, in its termination message). Everything runs in namespace causeway-diagnose, removed after.
 */
import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { promisify } from "node:util";
import { errorMessage, parseValue, SYSTEM_NAMESPACE, ValidationError } from "@causeway/api";
import { type CheckResult, host, kube } from "@causeway/common";
import { joinedBrokerConnection } from "@causeway/common/broker-client";
import { bundlePath } from "@causeway/deploy";
import { componentImage, inTestNamespace, podReport, testPod } from "../kube/testpods.ts";
import { activeGateway, DIAGNOSE_NAMESPACE } from "./firewall.ts";

const WAIT_MS = 60_000;
const POD = "globalnet";

/** What the cluster's active gateway should translate, from the broker; undefined when the cluster runs without globalnet. */
async function expectation(client: kube.KubeClient): Promise<host.GlobalNatExpectation | undefined> {
  // Without a global CIDR (its configuration, else its Cluster object) the cluster runs without globalnet: the broker is not asked.
  const config = await kube.loadJoinedCluster(client, SYSTEM_NAMESPACE, false);
  const local = (await client.list<{ spec?: { cluster_id?: string; global_cidr?: string[] } }>(kube.R.cluster, SYSTEM_NAMESPACE)).items;
  const mine = local.find((c) => c.spec?.cluster_id === config.clusterId)?.spec?.global_cidr ?? [];
  if (!config.globalCIDRs?.length && !mine.length) return undefined;
  const joined = await kube.loadJoinedCluster(client, SYSTEM_NAMESPACE);
  const conn = joinedBrokerConnection(joined);
  let clusters: { cluster_id: string; global_cidr: string[] }[];
  let exports: { clusterId: string; value: host.GlobalExportView & { unavailable?: string } }[];
  try {
    clusters = (await conn.list("cluster")).records.map((r) => parseValue("cluster", r.valueJson));
    exports = (await conn.list("export")).records.map((r) => ({ clusterId: r.clusterId, value: parseValue("export", r.valueJson) }));
  } finally {
    conn.close();
  }
  const own = clusters.find((c) => c.cluster_id === joined.clusterId)?.global_cidr[0];
  if (!own) return undefined;
  return {
    clusterId: joined.clusterId,
    node: (await activeGateway(client)).node,
    globalCidr: own,
    remote: clusters.filter((c) => c.cluster_id !== joined.clusterId).flatMap((c) => c.global_cidr),
    exports: exports.filter((e) => e.clusterId === joined.clusterId && !e.value.unavailable).map((e) => host.globalExportView(e.value)),
  };
}

/** One cluster: its active gateway's table checked on its node by a diagnose pod (nothing to check without globalnet). */
export async function globalnetKube(client: kube.KubeClient): Promise<CheckResult[]> {
  let want: host.GlobalNatExpectation | undefined;
  try {
    want = await expectation(client);
  } catch (err) {
    const what = "globalnet translation";
    return [
      { name: what, ok: false, ms: 0, detail: `could not read what to expect (the cluster's configuration, the broker it joined): ${errorMessage(err)}` },
    ];
  }
  if (!want) return [{ name: "globalnet", ok: true, ms: 0, detail: "this cluster runs without globalnet: nothing to translate" }];
  if (!want.node) return host.globalNatFindings({ ...want, tableJson: undefined });
  const expect = want;
  return inTestNamespace([client], DIAGNOSE_NAMESPACE, WAIT_MS, async () => {
    const pod = testPod({
      ...{ name: POD, namespace: DIAGNOSE_NAMESPACE, image: await componentImage(client), script: "", role: POD },
      command: ["node", bundlePath("causeway"), "diagnose-node", "globalnet", "--expect", JSON.stringify(expect), "--report", "/dev/termination-log"],
      ...{ node: expect.node, hostNetwork: true, capabilities: ["NET_ADMIN"] },
    });
    await client.create(kube.R.pod, pod);
    const got = await podReport<{ findings: CheckResult[] }>(client, DIAGNOSE_NAMESPACE, POD, WAIT_MS);
    return (
      got.findings ?? [
        { name: `globalnet translation of ${expect.clusterId}`, ok: false, ms: 0, detail: `the diagnose pod on ${expect.node} reported nothing` },
      ]
    );
  });
}

/** Pure: the expectation a diagnose pod is handed, checked enough that a wrong one is refused rather than misread. */
export function parseExpectation(json: string): host.GlobalNatExpectation {
  let x: Partial<host.GlobalNatExpectation>;
  try {
    x = JSON.parse(json) as Partial<host.GlobalNatExpectation>;
  } catch (err) {
    throw new ValidationError(`--expect is not JSON: ${errorMessage(err)}`);
  }
  if (
    typeof x.clusterId !== "string" ||
    typeof x.node !== "string" ||
    typeof x.globalCidr !== "string" ||
    !Array.isArray(x.remote) ||
    !Array.isArray(x.exports)
  )
    throw new ValidationError("--expect needs clusterId, node, globalCidr, remote and exports");
  return x as host.GlobalNatExpectation;
}

/** On the gateway's node (the diagnose pod): the local table against the expectation; the findings as JSON to `report` (else stdout). */
export async function diagnoseNodeGlobalnet(expectJson: string, report: string | undefined): Promise<number> {
  const want = parseExpectation(expectJson);
  const tableJson = await promisify(execFile)("nft", ["-j", "list", "table", "ip", host.GLOBALNET_NAT_TABLE], { maxBuffer: 256 << 20 }).then(
    (r) => r.stdout,
    () => undefined,
  );
  const findings = host.globalNatFindings({ ...want, tableJson });
  const out = JSON.stringify({ findings });
  if (report) await writeFile(report, out);
  else console.log(out);
  return findings.filter((f) => !f.ok).length;
}
