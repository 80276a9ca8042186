import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CLUSTERSET_IP_RANGE } from "@causeway/api";
import { CLUSTERSET_DNS_ZONES, COREFILE_MARKERS, corednsStanza, withoutStanza, withStanza } from "./corefile.ts";

const KUBEADM = `.:53 {
    errors
    health
    kubernetes cluster.local in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
    }
    forward . /etc/resolv.conf
    cache 30
}
`;

describe("CoreDNS wiring", () => {
  it("forwards each zone to the clusterset DNS server, between markers", () => {
    assert.equal(
      corednsStanza("10.96.0.53", ["clusterset.local", "example.internal."]),
      [
        COREFILE_MARKERS.start,
        "clusterset.local:53 {\n    forward . 10.96.0.53\n}",
        "example.internal:53 {\n    forward . 10.96.0.53\n}",
        COREFILE_MARKERS.end,
      ].join("\n"),
    );
    assert.throws(() => corednsStanza("10.96.0.53", []), /at least one zone/);
  });

  it("by default forwards clusterset.local and the reverse zone of the clusterset IP range", () => {
    const [first] = CLUSTERSET_IP_RANGE.split(".");
    assert.equal(CLUSTERSET_IP_RANGE.endsWith("/8"), true);
    assert.deepEqual(CLUSTERSET_DNS_ZONES, ["clusterset.local", `${first}.in-addr.arpa`]);
    assert.match(corednsStanza("10.96.0.53"), /\n243\.in-addr\.arpa:53 \{\n {4}forward \. 10\.96\.0\.53\n\}\n/);
  });

  it("is prepended once, replaced in place after, removed cleanly; the user's blocks are untouched", () => {
    const once = withStanza(KUBEADM, corednsStanza("10.96.0.53"));
    assert.ok(once.endsWith(KUBEADM));
    assert.equal(withStanza(once, corednsStanza("10.96.0.53")), once, "idempotent");
    const moved = withStanza(once, corednsStanza("10.96.0.54"));
    assert.match(moved, /forward \. 10\.96\.0\.54/);
    assert.doesNotMatch(moved, /10\.96\.0\.53/);
    assert.equal(moved.split(COREFILE_MARKERS.start).length, 2);
    assert.equal(withoutStanza(moved), KUBEADM);
    assert.equal(withoutStanza(KUBEADM), KUBEADM);
  });

  it("a start marker without its end is refused", () => {
    assert.throws(() => withStanza(`${COREFILE_MARKERS.start}\nfoo\n${KUBEADM}`, corednsStanza("10.96.0.53")), /no "# causeway-end": fix it by hand/);
  });
});
