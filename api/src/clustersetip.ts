/**
 * Clusterset IPs (MCS `ServiceImport.spec.ips`): each cluster allocates from a block of its own,
 * so two clusters never hand out the same address; an import keeps the address its first
 * exporter allocated. Pure helpers, no I/O.
 */
import { cidrsOverlap, intToIp, ipToInt, parseCidr } from "./cidr.ts";

/** Where clusters' blocks come from unless `join --clusterset-ip-cidr` names one (Submariner's default range). */
export const CLUSTERSET_IP_RANGE = "243.0.0.0/8";
/** Each cluster's block: a /20, 4,096 addresses (4,094 usable). */
export const CLUSTERSET_IP_BLOCK_PREFIX = 20;

/**
 * Pure: the first block of `/prefix` inside `range` that overlaps none of `taken` (other
 * clusters' blocks, and every pod and service CIDR of the clusterset); undefined when the range
 * is full or `prefix` does not fit inside it.
 */
export function nextFreeBlock(range: string, prefix: number, taken: readonly string[]): string | undefined {
  const r = parseCidr(range);
  if (!r || !Number.isInteger(prefix) || prefix < r.prefix || prefix > 32) return undefined;
  const size = 2 ** (32 - prefix);
  const count = 2 ** (prefix - r.prefix);
  for (let i = 0; i < count; i++) {
    const block = `${intToIp(r.base + i * size)}/${prefix}`;
    if (!taken.some((t) => cidrsOverlap(t, block))) return block;
  }
  return undefined;
}

/** FNV-1a over the name: where a service's search for a free address starts, the same on every run. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (const c of Buffer.from(s, "utf8")) h = Math.imul(h ^ c, 0x01000193) >>> 0;
  return h;
}

/**
 * Pure: an address of `block` for the service `key` (`namespace/name`) that `taken` does not
 * hold. The search starts at a place derived from the key, so a service exported again gets its
 * old address back when it is still free; the block's first and last addresses are never used.
 * Undefined when the block is full (or not a CIDR).
 */
export function allocateIp(block: string, key: string, taken: Pick<ReadonlySet<string>, "has">): string | undefined {
  const b = parseCidr(block);
  if (!b || b.prefix > 30) return undefined;
  return allocateBetween(b.base + 1, b.base + 2 ** (32 - b.prefix) - 2, key, taken);
}

/**
 * Pure: an address from `first` to `last` (inclusive, as numbers) that `taken` does not hold,
 * searched from a place derived from `key`; undefined when all are taken.
 */
export function allocateBetween(first: number, last: number, key: string, taken: Pick<ReadonlySet<string>, "has">): string | undefined {
  const usable = last - first + 1;
  if (usable < 1) return undefined;
  const start = fnv1a(key) % usable;
  for (let i = 0; i < usable; i++) {
    const ip = intToIp(first + ((start + i) % usable));
    if (!taken.has(ip)) return ip;
  }
  return undefined;
}

/** Pure: whether `ip` is one of `block`'s addresses an allocation may hand out. */
export function inBlock(block: string, ip: string): boolean {
  const b = parseCidr(block);
  if (!b) return false;
  const n = ipToInt(ip);
  const last = b.base + 2 ** (32 - b.prefix) - 1;
  return n > b.base && n < last;
}
