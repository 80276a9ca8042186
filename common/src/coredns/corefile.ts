import { CausewayError } from "@causeway/api";

/** A Corefile Causeway cannot safely edit (a start marker without its end); fix it by hand. Exit 2. */
export class CorefileError extends CausewayError {
  override name = "CorefileError";
  override readonly exitCode = 2;
}

/** The lines that bound Causeway's part of a Corefile; what lies between them is ours to replace. */
export const COREFILE_MARKERS = { start: "# causeway-start AUTO-GENERATED SECTION. DO NOT EDIT", end: "# causeway-end" } as const;

/**
 * What a cluster's CoreDNS forwards to the lighthouse: the clusterset zone, and the reverse zone
 * of the default clusterset IP range 243.0.0.0/8 (PTR of clusterset IPs; reserved space, so no
 * other owner of those names). Blocks given with `join --clusterset-ip-cidr` elsewhere get no PTR.
 */
export const CLUSTERSET_DNS_ZONES: readonly string[] = ["clusterset.local", "243.in-addr.arpa"];

/** Pure: the CoreDNS server blocks forwarding each zone to the clusterset DNS server, between the markers. */
export function corednsStanza(dnsServer: string, zones: readonly string[] = CLUSTERSET_DNS_ZONES): string {
  if (!zones.length) throw new CorefileError("at least one zone to forward");
  const blocks = zones.map((z) => `${z.replace(/\.$/, "")}:53 {\n    forward . ${dnsServer}\n}`);
  return [COREFILE_MARKERS.start, ...blocks, COREFILE_MARKERS.end].join("\n");
}

/**
 * Pure: `corefile` with Causeway's stanza in place — replacing an earlier one between the
 * markers, or prepended when there is none (CoreDNS takes the most specific zone, so order does
 * not matter; prepending keeps the user's blocks untouched). Idempotent. A start marker without
 * its end is refused rather than guessed at.
 */
export function withStanza(corefile: string, stanza: string): string {
  const start = corefile.indexOf(COREFILE_MARKERS.start);
  if (start < 0) return `${stanza}\n${corefile}`;
  const end = corefile.indexOf(COREFILE_MARKERS.end, start);
  if (end < 0) throw new CorefileError(`the Corefile has "${COREFILE_MARKERS.start}" but no "${COREFILE_MARKERS.end}": fix it by hand, then re-run`);
  return corefile.slice(0, start) + stanza + corefile.slice(end + COREFILE_MARKERS.end.length);
}

/** Pure: `corefile` without Causeway's stanza (uninstall); unchanged when there is none. */
export function withoutStanza(corefile: string): string {
  const start = corefile.indexOf(COREFILE_MARKERS.start);
  const end = start < 0 ? -1 : corefile.indexOf(COREFILE_MARKERS.end, start);
  if (start < 0 || end < 0) return corefile;
  return corefile.slice(0, start) + corefile.slice(end + COREFILE_MARKERS.end.length).replace(/^\n/, "");
}
