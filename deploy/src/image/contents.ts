/**
 * What Causeway's image holds — one definition for `npm run image` (Debian packages through
 * mmdebstrap, no registry) and for deploy/image/Dockerfile (users with a registry); a test
 * checks that the Dockerfile installs the same packages.
 */

/** The Debian release the image's root filesystem comes from. */
export const IMAGE_SUITE = "bookworm";

/**
 * The Debian packages the components drive, and nothing else: ip -batch/-json (iproute2),
 * nft and iptables-restore (nftables, iptables), wg (wireguard-tools), ping for health checks,
 * conntrack for flushing flows, ipset for the route agent's sets, sysctl (procps) for the
 * forwarding and rp_filter settings, CA certificates for TLS; and the C++ runtime Node itself
 * links against. Not Debian's wireguard-go: see IMAGE_BUILT.
 */
export const IMAGE_PACKAGES = [
  "iproute2",
  "ipset",
  "procps",
  "nftables",
  "iptables",
  "wireguard-tools",
  "iputils-ping",
  "conntrack",
  "ca-certificates",
  "libstdc++6",
] as const;

/**
 * Programs the image holds that are built from their Go modules rather than taken from Debian:
 * wireguard-go (userspace WireGuard, for kernels without the module) at the release the lab uses
 * (lab/wireguard/build.sh). Debian bookworm's is from 2022: no UDP GSO/GRO, and it leaves its
 * sockets' receive buffers at the kernel's default (208 KiB), so a busy gateway drops what
 * arrives in bursts — on the lab's real nodes 16 flows over active-active WireGuard cables moved
 * 40–80 Mbit/s, with thousands of UDP receive-buffer drops, where the current release moves over
 * 1 Gbit/s.
 */
export const IMAGE_BUILT = {
  "wireguard-go": { path: "/usr/local/bin/wireguard-go", build: "lab/wireguard/build.sh" },
} as const;

/**
 * The programs the components run, and what brings each: a package of IMAGE_PACKAGES, or
 * "built" (IMAGE_BUILT). A test finds every program the components' sources run and checks it
 * is here (a missing one failed only on a real node: `spawn ipset ENOENT`).
 */
export const IMAGE_PROGRAMS: Readonly<Record<string, (typeof IMAGE_PACKAGES)[number] | "built">> = {
  ip: "iproute2",
  bridge: "iproute2",
  ipset: "ipset",
  nft: "nftables",
  "iptables-restore": "iptables",
  "iptables-save": "iptables",
  "iptables-nft-save": "iptables",
  "iptables-nft-restore": "iptables",
  "iptables-legacy-save": "iptables",
  "iptables-legacy-restore": "iptables",
  iptables: "iptables",
  wg: "wireguard-tools",
  "wireguard-go": "built",
  ping: "iputils-ping",
  conntrack: "conntrack",
  sysctl: "procps",
};

/** Each program in the image: its bundle at /app/<name>.mjs, built from this entry point of the repository. */
export const IMAGE_BUNDLES = {
  broker: "broker/src/main.ts",
  gateway: "gateway/src/main.ts",
  "route-agent": "route-agent/src/main.ts",
  lighthouse: "lighthouse/src/main.ts",
  causeway: "cli/src/main.ts",
} as const;
export type ImageBundle = keyof typeof IMAGE_BUNDLES;

/** Where a bundle lives in the image. */
export const bundlePath = (name: ImageBundle): string => `/app/${name}.mjs`;

/**
 * Pure: the Debian packages the `apt-get install` lines of a Dockerfile's last stage (the image)
 * name (flags and shell continuations dropped), sorted — what the contents test compares with IMAGE_PACKAGES.
 */
export function dockerfilePackages(dockerfile: string): string[] {
  const last = dockerfile.slice(Math.max(0, dockerfile.lastIndexOf("\nFROM ")));
  const joined = last.replace(/\\\n/g, " ");
  const out = new Set<string>();
  for (const m of joined.matchAll(/apt-get install ([^&\n]*)/g)) {
    for (const word of (m[1] ?? "").split(/\s+/)) if (word && !word.startsWith("-") && !word.includes("=")) out.add(word);
  }
  return [...out].sort();
}
