/**
 * What a DaemonSet pod of Causeway's mounts from its node and keeps across container restarts,
 * and the gateway pod's WireGuard keeper (deploy/src/manifests.ts builds the workloads).
 */
import { dirname } from "node:path";
import { host } from "@causeway/common";
import { bundlePath } from "./image/contents.ts";

/** What a DaemonSet's pod spec (`sidecars` before its containers, `pod` after) and its container (`container`) get: the node's paths it mounts, by volume name; with the TUN device, the WireGuard keeper. */
export function daemonPodParts(
  tun: boolean,
  keeper: { image: string; nodeFlags: readonly string[] },
): {
  sidecars: { initContainers?: Record<string, unknown>[] };
  pod: { volumes: Record<string, unknown>[] };
  container: { volumeMounts: Record<string, unknown>[] };
} {
  const v = [
    // The node's iptables lock: the container's iptables-restore and the node's own (kube-proxy) take turns on legacy hosts.
    { name: "xtables-lock", mountPath: "/run/xtables.lock", hostPath: { path: "/run/xtables.lock", type: "FileOrCreate" } },
    // /proc/sys is read-only in a container that is not privileged: net sysctls are written here (common/src/host/sysctl.ts).
    { name: "proc-sys-net", mountPath: `${host.HOST_PROC_SYS}/net`, hostPath: { path: "/proc/sys/net", type: "Directory" } },
    ...(tun ? [{ name: "dev-net-tun", mountPath: "/dev/net/tun", hostPath: { path: "/dev/net/tun", type: "CharDevice" } }] : []),
  ];
  // The gateway's WireGuard key outlives a container restart (not the pod): WG_KEY_FILE; and so do
  // wireguard-go's control sockets, shared with the keeper that runs it (WG_KEEPER_SOCKET).
  const kept = tun
    ? [
        { name: "wireguard-key", mountPath: dirname(WG_KEY_FILE), emptyDir: { medium: "Memory" } },
        { name: "wireguard-run", mountPath: host.WG_RUN_DIR, emptyDir: { medium: "Memory" } },
        { name: "wireguard-keeper", mountPath: dirname(WG_KEEPER_SOCKET), emptyDir: { medium: "Memory" } },
      ]
    : [];
  const mounts = [...v, ...kept].map(({ name, mountPath }) => ({ name, mountPath }));
  return {
    sidecars: tun ? { initContainers: [wireguardKeeper(mounts, keeper.image, keeper.nodeFlags)] } : {},
    pod: { volumes: [...v.map(({ name, hostPath }) => ({ name, hostPath })), ...kept.map(({ name, emptyDir }) => ({ name, emptyDir }))] },
    container: { volumeMounts: mounts },
  };
}

/** Where the gateway keeps its WireGuard private key across container restarts (CAUSEWAY_WG_KEY_FILE; a memory emptyDir). */
export const WG_KEY_FILE = "/run/causeway-wireguard/private.key";
/** The socket of the gateway pod's WireGuard keeper (CAUSEWAY_WIREGUARD_KEEPER; a memory emptyDir of its own: the keeper never sees the key). */
export const WG_KEEPER_SOCKET = "/run/causeway-keeper/keeper.sock";

/**
 * The gateway pod's WireGuard keeper (WireGuard cables): a native sidecar (an init container that
 * keeps running; Kubernetes 1.29+) that runs wireguard-go for each cable device, so the devices
 * and their sessions outlive the gateway container's restarts (common/src/host/wgkeeper.ts); it
 * starts before the gateway and stops after it. It needs only NET_ADMIN and the TUN device.
 */
function wireguardKeeper(mounts: readonly Record<string, unknown>[], image: string, nodeFlags: readonly string[]): Record<string, unknown> {
  return {
    name: "wireguard",
    image,
    restartPolicy: "Always",
    command: ["node", ...nodeFlags, bundlePath("gateway"), "--wireguard-keeper", WG_KEEPER_SOCKET],
    env: [{ name: "NODE_NAME", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } }],
    terminationMessagePolicy: "FallbackToLogsOnError",
    securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"], add: ["NET_ADMIN"] } },
    volumeMounts: mounts.filter((m) => ["dev-net-tun", "wireguard-run", "wireguard-keeper"].includes(String(m.name))).map((m) => ({ ...m })),
  };
}
