/** Pure IPv4 and CIDR helpers (no dependencies, no I/O). */

const OCTET = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

export function isIPv4(s: string): boolean {
  const parts = s.split(".");
  return parts.length === 4 && parts.every((p) => OCTET.test(p));
}

export function ipToInt(ip: string): number {
  const p = ip.split(".").map(Number);
  return (((p[0] ?? 0) << 24) | ((p[1] ?? 0) << 16) | ((p[2] ?? 0) << 8) | (p[3] ?? 0)) >>> 0;
}

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

export interface Cidr {
  readonly base: number;
  readonly prefix: number;
}

function mask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** Parses "a.b.c.d/n"; returns undefined for anything else, including host bits set. */
export function parseCidr(s: string): Cidr | undefined {
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(s);
  if (!m?.[1] || !m[2] || !isIPv4(m[1])) return undefined;
  const prefix = Number(m[2]);
  if (prefix > 32) return undefined;
  const base = ipToInt(m[1]);
  if ((base & mask(prefix)) >>> 0 !== base) return undefined;
  return { base, prefix };
}

export function isIPv4Cidr(s: string): boolean {
  return parseCidr(s) !== undefined;
}

/** Whether two CIDR strings share at least one address. Invalid input never overlaps. */
export function cidrsOverlap(a: string, b: string): boolean {
  const x = parseCidr(a);
  const y = parseCidr(b);
  if (!x || !y) return false;
  const p = Math.min(x.prefix, y.prefix);
  return (x.base & mask(p)) >>> 0 === (y.base & mask(p)) >>> 0;
}

export function cidrContains(cidr: string, ip: string): boolean {
  const c = parseCidr(cidr);
  if (!c || !isIPv4(ip)) return false;
  return (ipToInt(ip) & mask(c.prefix)) >>> 0 === c.base;
}

/** Whether two addresses lie in one subnet of the given prefix length (on-link for each other). */
export function sameSubnet(a: string, b: string, prefix: number): boolean {
  if (!isIPv4(a) || !isIPv4(b) || !Number.isInteger(prefix) || prefix < 0 || prefix > 32) return false;
  return (ipToInt(a) & mask(prefix)) >>> 0 === (ipToInt(b) & mask(prefix)) >>> 0;
}

/** The address with its first octet replaced: VTEP addresses (240.x.y.z, 241.x.y.z). */
export function withFirstOctet(ip: string, first: number): string {
  const [, b, c, d] = ip.split(".");
  return `${first}.${b}.${c}.${d}`;
}

/**
 * Pure: a fixed, locally administered MAC for the VXLAN device whose VTEP address is `vtep`. A
 * device re-created (a gateway role moving between nodes) keeps its MAC, so peers' ARP entries
 * for the VTEP stay right instead of pointing at the old device's random MAC for half a minute.
 */
export function vtepMac(vtep: string): string {
  return ["0e", "ca", ...vtep.split(".").map((o) => Number(o).toString(16).padStart(2, "0"))].join(":");
}
