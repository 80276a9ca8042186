import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ValidationError } from "@causeway/api";
import { clusterZone, labCorefile, podResolvConf } from "./dns.ts";
import { type LabService, nextVip, parseServiceRef, planPods, serviceRules } from "./services.ts";
import { clusterSpec } from "./topology.ts";

const spec = clusterSpec("t", 1, 3);
const svc = (over: Partial<LabService> = {}): LabService => ({ namespace: "default", name: "web", headless: false, port: 80, pods: [], ...over });

describe("lab services (pure)", () => {
  it("refs are <cluster>/<namespace>/<name> of DNS labels", () => {
    assert.deepEqual(parseServiceRef("c1/default/web"), { cluster: "c1", namespace: "default", name: "web" });
    for (const bad of ["c1/web", "c1/default/web/x", "c1/Default/web", `c1/default/${"a".repeat(51)}`, "c1//web"]) {
      assert.throws(() => parseServiceRef(bad), ValidationError, bad);
    }
  });

  it("pods spread over workers first, at free addresses and interfaces; VIPs skip the lab's echo", () => {
    const a = svc({ vip: nextVip(spec, []), chain: "LAB-SVC-11" });
    assert.equal(a.vip, "10.101.0.11");
    a.pods = planPods(spec, [a], a, 3, "t");
    assert.deepEqual(
      a.pods.map((p) => [p.name, p.node, p.ip, p.hostIf, p.ns]),
      [
        ["web-0", "n1", "10.1.1.50", "sv0", "t-c1-n1-sv0"],
        ["web-1", "n2", "10.1.2.50", "sv0", "t-c1-n2-sv0"],
        ["web-2", "n0", "10.1.0.50", "sv0", "t-c1-n0-sv0"],
      ],
    );
    const b = svc({ name: "db", headless: true });
    b.pods = planPods(spec, [a, b], b, 1, "t");
    assert.deepEqual([b.pods[0]?.ip, b.pods[0]?.hostIf], ["10.1.1.51", "sv1"]);
    assert.equal(nextVip(spec, [a, b]), "10.101.0.12");
  });

  it("DNAT rules pick each pod with equal odds; headless services have none", () => {
    const a = svc({ vip: "10.101.0.11", chain: "LAB-SVC-11" });
    a.pods = planPods(spec, [a], a, 2, "t");
    const rules = serviceRules(a, true);
    assert.match(rules, /-A PREROUTING -d 10\.101\.0\.11\/32 -p tcp -m tcp --dport 80 -j LAB-SVC-11/);
    assert.match(rules, /--probability 0\.50000 -j DNAT --to-destination 10\.1\.1\.50:80/);
    assert.match(rules, /-A LAB-SVC-11 -p tcp -j DNAT --to-destination 10\.1\.2\.50:80/);
    assert.doesNotMatch(serviceRules(a, false), /PREROUTING/);
    assert.equal(serviceRules(svc({ headless: true }), true), "");
  });

  it("cluster DNS: hosts for cluster.local, the clusterset stanza, Kubernetes-style resolv.conf", () => {
    const h = svc({ name: "db", headless: true });
    h.pods = planPods(spec, [h], h, 1, "t");
    const zone = clusterZone(spec, [h], "10.1.0.53", 7);
    assert.match(zone, /^@ 5 IN SOA ns\.dns\.cluster\.local\. hostmaster\.cluster\.local\. 7 /m);
    assert.match(zone, /^echo\.default\.svc 5 IN A 10\.101\.0\.10$/m);
    assert.match(zone, /^db-0\.db\.default\.svc 5 IN A 10\.1\.1\.50$/m);
    assert.match(labCorefile("/x/c1.zone", "198.19.1.10"), /clusterset\.local:53 \{\n {4}forward \. 198\.19\.1\.10\n\}/);
    assert.match(
      podResolvConf("10.1.0.53"),
      /^nameserver 10\.1\.0\.53\nsearch default\.svc\.cluster\.local svc\.cluster\.local cluster\.local\noptions ndots:5\n$/,
    );
  });
});
