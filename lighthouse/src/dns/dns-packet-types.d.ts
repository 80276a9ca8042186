/** dns-packet's record-type table (no typings upstream). */
declare module "dns-packet/types.js" {
  /** The type code of a name ("A" → 1, "UNKNOWN_65280" → 65280); 0 for names it does not know. */
  export function toType(name: string): number;
  export function toString(type: number): string;
}
