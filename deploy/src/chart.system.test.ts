/**
 * The Helm chart is generated from the manifests join applies: the checked-in chart is what the
 * generator writes now, `helm lint` passes, and `helm template` with a member's settings gives
 * the same objects join renders for them. helm is built from its Go module (deploy/helm/build.sh).
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { describe, it } from "node:test";
import { kube } from "@causeway/common";
import { parseAllDocuments, stringify } from "yaml";
import { renderManifests } from "./apply.ts";
import { CHART_DIR, chartFiles } from "./chart.ts";
import { memberManifests } from "./manifests.ts";

const helm = () => execFileSync("bash", [join(import.meta.dirname, "../helm/build.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }).trim();

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? filesUnder(join(dir, f)) : [join(dir, f)]));
}

/** Objects of a multi-document YAML keyed by kind/namespace/name. */
function objects(text: string): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const d of parseAllDocuments(text)) {
    const o = d.toJS() as { kind?: string; metadata?: { name?: string; namespace?: string } } | null;
    if (o?.kind) out.set(`${o.kind}/${o.metadata?.namespace ?? ""}/${o.metadata?.name}`, o);
  }
  return out;
}

describe("Helm chart (one source with join's manifests)", () => {
  it("the checked-in chart is what the generator writes (node deploy/src/chart.ts regenerates it)", () => {
    const want = chartFiles("0.1.0");
    const have = Object.fromEntries(filesUnder(CHART_DIR).map((f) => [relative(CHART_DIR, f), readFileSync(f, "utf8")]));
    assert.deepEqual(Object.keys(have).sort(), Object.keys(want).sort());
    for (const [path, content] of Object.entries(want)) assert.equal(have[path], content, `${path} is stale: run node deploy/src/chart.ts`);
  });

  for (const cableDriver of ["wireguard", "vxlan"] as const)
    it(`helm lint passes, and helm template gives the objects join renders for the same settings (${cableDriver}: ${cableDriver === "wireguard" ? "with" : "without"} /dev/net/tun)`, () => {
      const bin = helm();
      const dir = mkdtempSync(join(tmpdir(), "cw-chart-"));
      try {
        const config = {
          clusterId: "east",
          clusterCIDRs: ["10.1.0.0/16"],
          serviceCIDRs: ["10.101.0.0/16", "10.102.0.0/16"],
          cableDriver,
          intraCluster: "direct" as const,
          brokerAddress: "broker.example:7400",
          brokerToken: "token-1",
          brokerCa: "-----BEGIN CERTIFICATE-----\nxyz\n-----END CERTIFICATE-----\n",
          cableSecret: "cable-1",
          gateway: { natt: false, nattPort: 4501, preferredServer: true, healthCheck: true, healthCheckInterval: 0.5, healthCheckMaxPacketLossCount: 3 },
        };
        const values = join(dir, "values.yaml");
        writeFileSync(values, stringify({ ...config, clusterCIDRs: config.clusterCIDRs.join(","), serviceCIDRs: config.serviceCIDRs.join(",") }));
        const lint = spawnSync(bin, ["lint", CHART_DIR, "-f", values], { encoding: "utf8" });
        assert.equal(lint.status, 0, lint.stdout + lint.stderr);
        const rendered = spawnSync(bin, ["template", "causeway", CHART_DIR, "--include-crds", "-f", values], { encoding: "utf8" });
        assert.equal(rendered.status, 0, rendered.stderr);
        const fromHelm = objects(rendered.stdout);
        const fromJoin = objects(renderManifests(memberManifests(kube.R, config)));
        assert.deepEqual([...fromHelm.keys()].sort(), [...fromJoin.keys()].sort());
        for (const [k, v] of fromJoin) assert.deepEqual(fromHelm.get(k), v, k);
        assert.equal(rendered.stdout.includes("/dev/net/tun"), cableDriver === "wireguard");
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
});
