import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { imageProblems, notRolledOut, type PodObject, podProblems, terminationGist, type WorkloadObject } from "./rollout.ts";

const pod = (name: string, reason: string | undefined, image = "causeway:0.2.0"): PodObject => ({
  metadata: { name },
  spec: { nodeName: "n1", containers: [{ image }] },
  status: { containerStatuses: [{ ready: !reason, ...(reason ? { state: { waiting: { reason } } } : {}) }] },
});

describe("join's wait for the pods", () => {
  it("pods whose node cannot get the image are named with the image; other waits are not image problems", () => {
    const r = imageProblems([pod("gw-a", "ErrImagePull"), pod("ra-b", "ImagePullBackOff"), pod("ra-c", "ContainerCreating"), pod("lh-d", undefined)]);
    assert.deepEqual(r.lines, ["gw-a on n1: ErrImagePull (causeway:0.2.0)", "ra-b on n1: ImagePullBackOff (causeway:0.2.0)"]);
    assert.deepEqual(r.images, ["causeway:0.2.0"]);
    assert.deepEqual(imageProblems([pod("x", "ErrImageNeverPull", "a:1"), pod("y", "InvalidImageName", "b")]).images, ["a:1", "b"]);
    assert.deepEqual(imageProblems([pod("x", "CrashLoopBackOff")]).lines, []);
    // A sidecar's image too (the gateway's WireGuard keeper).
    const sidecar: PodObject = {
      metadata: { name: "gw-k" },
      spec: { nodeName: "n0", containers: [{ image: "causeway:1" }], initContainers: [{ image: "causeway:2" }] },
      status: {
        initContainerStatuses: [{ state: { waiting: { reason: "ErrImageNeverPull" } } }],
        containerStatuses: [{ state: { waiting: { reason: "PodInitializing" } } }],
      },
    };
    assert.deepEqual(imageProblems([sidecar]), { lines: ["gw-k on n0: ErrImageNeverPull (causeway:2)"], images: ["causeway:2"] });
  });

  it("a workload has rolled out when its controller saw the current template and every pod is updated and available", () => {
    const ds = (gen: number, observed: number, updated: number, available: number): WorkloadObject => ({
      metadata: { name: "causeway-route-agent", generation: gen },
      status: { observedGeneration: observed, desiredNumberScheduled: 3, updatedNumberScheduled: updated, numberAvailable: available },
    });
    assert.deepEqual(notRolledOut([ds(2, 2, 3, 3)], []), []);
    assert.deepEqual(notRolledOut([ds(3, 2, 3, 3)], []), ["daemonset/causeway-route-agent 3/3"], "the controller has not seen the new template");
    assert.deepEqual(notRolledOut([ds(2, 2, 2, 3)], []), ["daemonset/causeway-route-agent 3/3"], "one node still runs the old pod");
    assert.deepEqual(notRolledOut([ds(2, 2, 3, 1)], []), ["daemonset/causeway-route-agent 1/3"]);
    const dep = (replicas: number, updated: number, available: number): WorkloadObject => ({
      metadata: { name: "causeway-lighthouse", generation: 1 },
      spec: { replicas: 2 },
      status: { observedGeneration: 1, replicas, updatedReplicas: updated, availableReplicas: available },
    });
    assert.deepEqual(notRolledOut([], [dep(2, 2, 2)]), []);
    assert.deepEqual(notRolledOut([], [dep(3, 2, 2)]), ["deployment/causeway-lighthouse 2/2"], "an old replica is still there");
    assert.deepEqual(notRolledOut([], [dep(2, 1, 2)]), ["deployment/causeway-lighthouse 2/2"]);
  });

  it("a pod that is not ready is named with its reason, exit code and what its container last said (the pino line's error)", () => {
    const tun =
      "this kernel has no WireGuard module, and wireguard-go needs /dev/net/tun, which is missing here: load the tun module on the node (modprobe tun); in a container, mount the node's /dev/net/tun (causeway join does for --cable-driver wireguard) or use --cable-driver vxlan";
    const log = `{"level":30,"msg":"starting"}\n{"level":60,"time":"2026-12-03T18:00:00.000Z","component":"causeway-gateway","err":${JSON.stringify(tun)},"msg":"causeway-gateway cannot start"}\n`;
    const crashing: PodObject = {
      metadata: { name: "causeway-gateway-abcde" },
      spec: { nodeName: "n0" },
      status: {
        containerStatuses: [
          {
            ready: false,
            restartCount: 3,
            state: { waiting: { reason: "CrashLoopBackOff", message: "back-off 40s restarting failed container" } },
            lastState: { terminated: { exitCode: 2, reason: "Error", message: log } },
          },
        ],
      },
    };
    const ready: PodObject = { metadata: { name: "causeway-gateway-fghij" }, spec: { nodeName: "n1" }, status: { containerStatuses: [{ ready: true }] } };
    const pending: PodObject = { metadata: { name: "causeway-route-agent-x" }, status: {} };
    assert.deepEqual(podProblems([crashing, ready, pending]), [
      `causeway-gateway-abcde on n0: CrashLoopBackOff (exit 2) — ${tun}`,
      "causeway-route-agent-x on (not scheduled): not ready",
    ]);
    // A container that never started says nothing itself: the newest Warning event about its pod does.
    const creating: PodObject = {
      metadata: { name: "causeway-gateway-klmno", uid: "u1" },
      spec: { nodeName: "n2" },
      status: { containerStatuses: [{ ready: false, state: { waiting: { reason: "ContainerCreating" } } }] },
    };
    const mount = 'MountVolume.SetUp failed for volume "tun" : hostPath type check failed: /dev/net/tun is not a character device';
    const events = [
      {
        involvedObject: { kind: "Pod", name: "causeway-gateway-klmno", uid: "u1" },
        type: "Warning",
        reason: "FailedMount",
        message: "older",
        lastTimestamp: "2026-12-03T18:00:00Z",
      },
      {
        involvedObject: { kind: "Pod", name: "causeway-gateway-klmno", uid: "u1" },
        type: "Warning",
        reason: "FailedMount",
        message: mount,
        lastTimestamp: "2026-12-03T18:00:05Z",
      },
      {
        involvedObject: { kind: "Pod", name: "causeway-gateway-klmno", uid: "u0" },
        type: "Warning",
        reason: "FailedMount",
        message: "a former pod of that name",
        lastTimestamp: "2026-12-03T18:01:00Z",
      },
      { involvedObject: { kind: "Pod", name: "causeway-gateway-abcde" }, type: "Warning", reason: "BackOff", message: "not shown: the container said more" },
    ];
    assert.deepEqual(podProblems([creating, crashing], events), [
      `causeway-gateway-klmno on n2: ContainerCreating — FailedMount: ${mount}`,
      `causeway-gateway-abcde on n0: CrashLoopBackOff (exit 2) — ${tun}`,
    ]);
    // The gateway's WireGuard keeper (a native sidecar) failing: the gateway waits for it, the keeper is named.
    const keeperSaid = `{"level":60,"msg":"wireguard-go is not installed here: the WireGuard keeper runs it for each cable device"}`;
    const keeperDown: PodObject = {
      metadata: { name: "causeway-gateway-pqrst" },
      spec: { nodeName: "n3" },
      status: {
        initContainerStatuses: [
          {
            name: "wireguard",
            ready: false,
            state: { waiting: { reason: "CrashLoopBackOff" } },
            lastState: { terminated: { exitCode: 2, message: keeperSaid } },
          },
        ],
        containerStatuses: [{ name: "gateway", ready: false, state: { waiting: { reason: "PodInitializing" } } }],
      },
    };
    // Not started at all (a volume): the keeper has nothing of its own to say, the pod's event does.
    const unmounted: PodObject = {
      ...creating,
      status: {
        initContainerStatuses: [{ name: "wireguard", ready: false, state: { waiting: { reason: "PodInitializing" } } }],
        containerStatuses: [{ name: "gateway", ready: false, state: { waiting: { reason: "PodInitializing" } } }],
      },
    };
    assert.deepEqual(podProblems([keeperDown, unmounted], events), [
      "causeway-gateway-pqrst on n3: container wireguard: CrashLoopBackOff (exit 2) — wireguard-go is not installed here: the WireGuard keeper runs it for each cable device",
      `causeway-gateway-klmno on n2: PodInitializing — FailedMount: ${mount}`,
    ]);
    assert.equal(terminationGist("plain text\nlast line"), "last line");
    assert.equal(terminationGist('{"msg":"no error field"}'), "no error field");
    assert.equal(terminationGist(undefined), "");
  });
});
