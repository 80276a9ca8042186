import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { WireRecord } from "@causeway/api";
import { assertGolden } from "@causeway/common";
import { stringify } from "yaml";
import { buildViews, formatBytes, renderText, SECTIONS, toData } from "./index.ts";
import { showSource } from "./command.ts";

const DATA = join(import.meta.dirname, "testdata");

describe("show output (golden)", () => {
  // Records of a 2-cluster VXLAN lab as the broker listed them (timestamps fixed).
  const records = JSON.parse(readFileSync(join(DATA, "records.json"), "utf8")) as WireRecord[];
  const views = buildViews(records);

  it("show all as tables", () => {
    assertGolden(join(DATA, "show-all.txt"), `${renderText(views, SECTIONS)}\n`);
  });

  it("each section alone, and -o yaml / json", () => {
    for (const s of SECTIONS) assertGolden(join(DATA, `show-${s}.txt`), `${renderText(views, [s])}\n`);
    assertGolden(join(DATA, "show-all.yaml"), stringify(toData(views, SECTIONS)));
    assertGolden(join(DATA, "show-all.json"), `${JSON.stringify(toData(views, SECTIONS), null, 2)}\n`);
  });

  it("globalnet: networks print each cluster's global CIDR and egress pool", () => {
    const globalCidr: Record<string, string> = { c1: "242.0.0.0/16", c2: "242.1.0.0/16" };
    const gn = records.map((r) =>
      r.kind === "cluster" ? { ...r, valueJson: JSON.stringify({ ...(JSON.parse(r.valueJson) as object), global_cidr: [globalCidr[r.clusterId]] }) } : r,
    );
    const text = renderText(buildViews(gn), ["networks"]);
    assertGolden(join(DATA, "show-networks-globalnet.txt"), `${text}\n`);
    assert.match(text, /Global CIDR: {5}242\.0\.0\.0\/16\n {8}Egress IPs: {6}242\.0\.0\.2-242\.0\.0\.9/);
    assert.deepEqual(
      toData(buildViews(gn), ["networks"]).clusters.map((c) => [c.id, c.globalCIDR, c.egressIPs]),
      [
        ["c1", "242.0.0.0/16", "242.0.0.2-242.0.0.9"],
        ["c2", "242.1.0.0/16", "242.1.0.2-242.1.0.9"],
      ],
    );
  });
});

describe("show: active-active gateways", () => {
  const records = JSON.parse(readFileSync(join(DATA, "records.json"), "utf8")) as WireRecord[];
  it("connections: with several active gateways in a cluster, each row names its local gateway; one active gateway: Submariner's columns", () => {
    const second = records.flatMap((r) => (r.kind === "gateway" && r.clusterId === "c1" ? [r, { ...r, name: "n1" }] : [r]));
    const text = renderText(buildViews(second), ["connections"]);
    const c1 = text.split('Cluster "c2"')[0] ?? "";
    assert.match(c1, /^LOCAL GATEWAY +GATEWAY +CLUSTER +REMOTE IP/m);
    assert.match(c1, /^n0 +n0 +c2 +198\.18\.2\.10/m);
    assert.match(c1, /^n1 +n0 +c2 +198\.18\.2\.10/m);
    assert.match(text.split('Cluster "c2"')[1] ?? "", /^GATEWAY +CLUSTER +REMOTE IP/m, "c2 has one active gateway");
  });

  it("gateways: with several active gateways, each one's flows and bytes; one active gateway: Submariner's columns", () => {
    const withTraffic = (r: WireRecord, traffic: object): WireRecord => ({ ...r, valueJson: JSON.stringify({ ...JSON.parse(r.valueJson), traffic }) });
    const second = records.flatMap((r) =>
      r.kind === "gateway" && r.clusterId === "c1"
        ? [withTraffic(r, { rxBytes: 1536, txBytes: 5 * 2 ** 20, flows: 9 }), withTraffic({ ...r, name: "n1" }, { rxBytes: 512, txBytes: 3 * 2 ** 30 })]
        : [r.kind === "gateway" ? withTraffic(r, { rxBytes: 1, txBytes: 2, flows: 3 }) : r],
    );
    const text = renderText(buildViews(second), ["gateways"]);
    const [c1 = "", c2 = ""] = text.split('Cluster "c2"');
    assert.match(c1, /^NODE +HA STATUS +FLOWS +RX +TX +SUMMARY$/m);
    assert.match(c1, /^n0 +active +9 +1\.5 KiB +5\.0 MiB +All connections \(1\) are established$/m);
    assert.match(c1, /^n1 +active +512 B +3\.0 GiB +All connections/m, "no conntrack count: the FLOWS cell is empty");
    assert.match(c2, /^NODE +HA STATUS +SUMMARY$/m, "c2 has one active gateway");
    assert.doesNotMatch(c2, /FLOWS/);
    const data = toData(buildViews(second), ["gateways"]);
    assert.deepEqual(data.clusters[0]?.gateways?.[1]?.traffic, { rxBytes: 512, txBytes: 3 * 2 ** 30 }, "-o json/yaml carry the figures in every mode");
    assert.deepEqual(data.clusters[1]?.gateways?.[0]?.traffic, { rxBytes: 1, txBytes: 2, flows: 3 });
  });

  it("bytes for people: binary units, one decimal from KiB up", () => {
    assert.deepEqual([0, 1023, 1024, 1536, 2 ** 20 - 1, 10 * 2 ** 30, 2 ** 50 * 3].map(formatBytes), [
      "0 B",
      "1023 B",
      "1.0 KiB",
      "1.5 KiB",
      "1.0 MiB",
      "10.0 GiB",
      "3.0 PiB",
    ]);
  });
});

describe("show: where it reads from", () => {
  const none = { KUBECONFIG: undefined, defaultConfigExists: false };
  it("--kubeconfig/--context: the clusters' APIs; --broker/--lab: the broker", () => {
    assert.equal(showSource({ context: "c1" }, none), "kube");
    assert.equal(showSource({ kubeconfig: "k" }, none), "kube");
    assert.equal(showSource({ broker: "198.18.0.2:7400" }, { KUBECONFIG: "k", defaultConfigExists: true }), "broker");
    assert.equal(showSource({ lab: "cw" }, { KUBECONFIG: "k", defaultConfigExists: true }), "broker");
  });
  it("nothing named: the current kubeconfig context like subctl ($KUBECONFIG or ~/.kube/config), a running lab only without one", () => {
    assert.equal(showSource({}, { KUBECONFIG: "/x/config", defaultConfigExists: false }), "kube");
    assert.equal(showSource({}, { KUBECONFIG: undefined, defaultConfigExists: true }), "kube");
    assert.equal(showSource({}, { KUBECONFIG: "", defaultConfigExists: false }), "lab");
    assert.equal(showSource({}, none), "lab");
  });
});
