import { lookup } from "node:dns/promises";
import { errorMessage, ipToInt, isIPv4, ValidationError } from "@causeway/api";
import { PublicIpError } from "./errors.ts";

/** One public-IP resolver (reference §4.4): a fixed address, a DNS name, or an HTTPS service that prints the caller's address. */
export type Resolver =
  { readonly kind: "ipv4"; readonly ip: string } | { readonly kind: "dns"; readonly name: string } | { readonly kind: "api"; readonly url: string };

/**
 * Pure: parses a resolver list like "ipv4:198.18.2.10" or "dns:gw.example.com,api:ipinfo.io/ip"
 * (first success wins); throws ValidationError naming each bad entry.
 */
export function parseResolvers(spec: string): Resolver[] {
  const out: Resolver[] = [];
  const problems: string[] = [];
  for (const raw of spec
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)) {
    const i = raw.indexOf(":");
    const kind = i > 0 ? raw.slice(0, i) : "";
    const arg = i > 0 ? raw.slice(i + 1) : "";
    if (kind === "ipv4" && isIPv4(arg)) out.push({ kind, ip: arg });
    else if (kind === "dns" && /^[A-Za-z0-9.-]+$/.test(arg)) out.push({ kind, name: arg });
    else if (kind === "api" && /^[A-Za-z0-9.-]+(:\d+)?(\/\S*)?$/.test(arg)) out.push({ kind, url: `https://${arg}` });
    else problems.push(`"${raw}": expected ipv4:<address>, dns:<name> or api:<host/path>`);
  }
  if (problems.length) throw new ValidationError("invalid public IP resolvers", problems);
  return out;
}

export interface ResolveDeps {
  /** Air-gapped: only ipv4: resolvers are used; no DNS or HTTPS request leaves the host. */
  readonly airGapped?: boolean;
  readonly lookup?: (name: string) => Promise<string[]>;
  readonly fetchText?: (url: string, timeoutMs: number) => Promise<string>;
  readonly timeoutMs?: number;
}

const defaultLookup = async (name: string) => (await lookup(name, { all: true, family: 4 })).map((a) => a.address);
const defaultFetch = async (url: string, timeoutMs: number) => {
  const r = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!r.ok) throw new PublicIpError(`HTTP ${r.status}`);
  return r.text();
};

async function resolveOne(r: Resolver, d: ResolveDeps): Promise<string> {
  if (r.kind === "ipv4") return r.ip;
  if (r.kind === "dns") {
    // The lowest address after sorting, so that every gateway picks the same one.
    const ips = (await (d.lookup ?? defaultLookup)(r.name)).filter(isIPv4).sort((a, b) => ipToInt(a) - ipToInt(b));
    if (!ips[0]) throw new PublicIpError("no IPv4 address");
    return ips[0];
  }
  const body = await (d.fetchText ?? defaultFetch)(r.url, d.timeoutMs ?? 30_000);
  const m = /\b(\d{1,3}(?:\.\d{1,3}){3})\b/.exec(body);
  if (!m?.[1] || !isIPv4(m[1])) throw new PublicIpError("the answer holds no IPv4 address");
  return m[1];
}

const describeResolver = (r: Resolver) => `${r.kind}:${r.kind === "ipv4" ? r.ip : r.kind === "dns" ? r.name : r.url}`;

/**
 * The public IP from the first resolver that answers; "" when there are none (or, air-gapped,
 * no ipv4: ones). Throws naming every failure when all fail.
 */
export async function resolvePublicIp(resolvers: readonly Resolver[], d: ResolveDeps = {}): Promise<string> {
  const usable = d.airGapped ? resolvers.filter((r) => r.kind === "ipv4") : resolvers;
  const failures: string[] = [];
  for (const r of usable) {
    try {
      return await resolveOne(r, d);
    } catch (err) {
      failures.push(`${describeResolver(r)}: ${errorMessage(err)}`);
    }
  }
  if (failures.length) throw new ValidationError("could not determine the public IP: every resolver failed", failures);
  return "";
}
