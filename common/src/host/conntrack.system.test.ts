/**
 * Flow counting (conntrack.ts): the same table, added to the fake and inserted into a network
 * namespace's conntrack (conntrack -I), counts the same. Needs root.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { NetnsRunner, ProcessRunner } from "../exec/index.ts";
import { ConntrackFlows, FakeFlows, type FlowCounter, type FlowEntry, parseConntrack } from "./conntrack.ts";

const root = process.getuid?.() === 0;
const NS = `cwct-${process.pid}`;
const REMOTE = ["10.2.0.0/16", "10.102.0.0/16"];

/** Each entry with the ports conntrack -I needs (the fake ignores them). */
const TABLE: (FlowEntry & { sport: number; dport: number })[] = [
  { proto: "tcp", state: "ESTABLISHED", src: "10.1.0.5", dst: "10.2.0.7", sport: 40001, dport: 80 }, // out to a remote pod
  { proto: "tcp", state: "ESTABLISHED", src: "10.2.0.7", dst: "10.1.0.5", sport: 40002, dport: 80 }, // in from one
  { proto: "tcp", state: "TIME_WAIT", src: "10.1.0.5", dst: "10.2.0.7", sport: 40003, dport: 80 }, // closed: not counted
  { proto: "udp", src: "10.1.0.5", dst: "10.102.0.10", sport: 40004, dport: 53 }, // to a remote service
  { proto: "tcp", state: "ESTABLISHED", src: "10.1.0.5", dst: "10.1.0.9", sport: 40005, dport: 80 }, // local: not counted
];

function contract(name: string, make: () => Promise<{ counter: FlowCounter; add: (e: (typeof TABLE)[number]) => Promise<void> }>) {
  it(`${name}: counts open flows with an end in the remote CIDRs, both directions, TCP's closing ones left out`, async () => {
    const { counter, add } = await make();
    assert.equal(await counter.count(REMOTE), 0);
    for (const e of TABLE) await add(e);
    assert.equal(await counter.count(REMOTE), 3);
    assert.equal(await counter.count(["10.102.0.0/16"]), 1);
    assert.equal(await counter.count([]), 0);
  });
}

describe("flow counting: fake and kernel", () => {
  contract("fake", async () => {
    const f = new FakeFlows();
    return { counter: f, add: async (e) => f.add(e) };
  });

  describe("kernel (conntrack in a namespace of its own)", { skip: root ? false : "needs root" }, () => {
    const run = new ProcessRunner();
    before(async () => {
      await run.run("ip", ["netns", "add", NS]);
    });
    after(async () => {
      await run.run("ip", ["netns", "del", NS], { allowFailure: true });
    });
    contract("conntrack", async () => {
      const inNs = new NetnsRunner(run, NS);
      return {
        counter: new ConntrackFlows(inNs),
        add: async (e) => {
          const state = e.proto === "tcp" ? ["--state", e.state ?? "ESTABLISHED"] : [];
          const args = ["-I", "-p", e.proto, "-s", e.src, "-d", e.dst, "--sport", String(e.sport), "--dport", String(e.dport), ...state, "-t", "120"];
          await inNs.run("conntrack", args);
        },
      };
    });
  });

  it("reads conntrack -L lines: protocol, TCP state, the original direction's addresses", () => {
    const text = [
      "tcp      6 431999 ESTABLISHED src=10.1.3.10 dst=10.2.3.10 sport=5201 dport=44 src=10.2.3.10 dst=10.1.3.10 sport=44 dport=5201 [ASSURED] mark=0 use=1",
      "udp      17 29 src=10.1.3.10 dst=10.2.3.10 sport=41001 dport=41001 [UNREPLIED] src=10.2.3.10 dst=10.1.3.10 sport=41001 dport=41001 mark=0 use=1",
      "conntrack v1.4.7 (conntrack-tools): 2 flow entries have been shown.",
      "",
    ].join("\n");
    assert.deepEqual(parseConntrack(text), [
      { proto: "tcp", state: "ESTABLISHED", src: "10.1.3.10", dst: "10.2.3.10" },
      { proto: "udp", src: "10.1.3.10", dst: "10.2.3.10" },
    ]);
  });
});
