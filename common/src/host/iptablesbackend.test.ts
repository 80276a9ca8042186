import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FakeRunner } from "../exec/index.ts";
import { HostStateError } from "../errors.ts";
import { detectIptablesBackend, IptablesPacketFilter } from "./packetfilter.ts";

/** A runner whose iptables-<backend>-save prints `saves[backend]`, or fails with it when it is an Error. */
function node(saves: Record<"nft" | "legacy", string | Error>): FakeRunner {
  const r = new FakeRunner();
  r.handler = (file) => {
    const b = file.includes("legacy") ? "legacy" : "nft";
    const out = saves[b];
    if (out instanceof Error) return { exitCode: 1, stderr: out.message };
    return { stdout: out };
  };
  return r;
}
const rules = (n: number, extra = "") =>
  `*nat\n${extra}${Array.from({ length: n }, (_, i) => `-A POSTROUTING -s 10.0.${i}.0/24 -j MASQUERADE\n`).join("")}COMMIT\n`;

describe("the node's iptables backend", () => {
  it("the one holding kubelet's hint chains, whichever has more rules", async () => {
    assert.equal(await detectIptablesBackend(node({ nft: rules(40), legacy: rules(1, ":KUBE-IPTABLES-HINT - [0:0]\n") })), "legacy");
    assert.equal(await detectIptablesBackend(node({ nft: rules(0, ":KUBE-KUBELET-CANARY - [0:0]\n"), legacy: rules(9) })), "nft");
  });

  it("without hints, the one with more rules; nft on a tie (a fresh node)", async () => {
    assert.equal(await detectIptablesBackend(node({ nft: rules(2), legacy: rules(5) })), "legacy");
    assert.equal(await detectIptablesBackend(node({ nft: rules(3), legacy: rules(3) })), "nft");
    assert.equal(await detectIptablesBackend(node({ nft: "", legacy: "" })), "nft");
  });

  it("a backend the kernel lacks is no candidate; none at all names both errors and what the kernel needs", async () => {
    assert.equal(await detectIptablesBackend(node({ nft: new Error("Could not fetch rule set generation id: Invalid argument"), legacy: rules(0) })), "legacy");
    await assert.rejects(
      detectIptablesBackend(
        node({
          nft: new Error("Could not fetch rule set generation id: Invalid argument"),
          legacy: new Error("can't initialize iptables table `filter': Table does not exist"),
        }),
      ),
      (e: Error) =>
        e instanceof HostStateError &&
        /this node offers no iptables backend \(iptables-nft-save: Could not fetch rule set generation id: Invalid argument; iptables-legacy-save: can't initialize iptables table `filter': Table does not exist\): .*nf_tables .*ip_tables .*modprobe nf_tables/.test(
          e.message,
        ),
    );
  });

  it("the packet filter saves and restores through the detected backend, detected once", async () => {
    const run = node({ nft: rules(0), legacy: rules(4) });
    const f = new IptablesPacketFilter(run);
    await f.preflight();
    await f.observe(["nat"]);
    await f.restore("*nat\nCOMMIT\n");
    const files = run.calls.map((c) => c.file);
    assert.equal(run.calls.filter((c) => c.args.length === 0).length, 2, "detected once: one plain save per backend");
    assert.ok(files.includes("iptables-legacy-restore"));
    assert.ok(!files.includes("iptables-nft-restore"));
    assert.deepEqual(run.calls.find((c) => c.args[0] === "-t")?.file, "iptables-legacy-save");
  });

  it("several tables are observed in one save (every table at once), each with its chains; a table the node lacks is empty", async () => {
    const run = node({
      nft: "*mangle\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -j MARK --set-mark 1\nCOMMIT\n*filter\n:FORWARD ACCEPT [0:0]\nCOMMIT\n",
      legacy: "",
    });
    const f = new IptablesPacketFilter(run, "nft");
    const snap = await f.observe(["filter", "mangle", "nat"]);
    assert.deepEqual(
      run.calls.map((c) => [c.file, ...c.args].join(" ")),
      ["iptables-nft-save"],
      "one process for the three tables",
    );
    assert.deepEqual([...(snap.get("mangle") ?? [])], [["PREROUTING", ["-A PREROUTING -j MARK --set-mark 1"]]]);
    assert.deepEqual([...(snap.get("filter") ?? [])], [["FORWARD", []]]);
    assert.deepEqual([...(snap.get("nat") ?? [])], []);
  });
});
