import type { Lab } from "@causeway/lab";

/** What is left of Causeway's host state on a lab node: its links, policy-routing rules and tables, iptables chains, ipsets, the source guard's nftables table. */
export async function nodeTrace(lab: Lab, node: string, wgInterface: string): Promise<string[]> {
  const found: string[] = [];
  const links = (await lab.exec(node, ["ip", "-o", "link", "show"])).stdout;
  for (const dev of ["vx-causeway", "vxlan-tunnel", "causeway-wg", wgInterface])
    if (links.includes(`${dev}:`) || links.includes(`${dev}@`)) found.push(`${node}: link ${dev}`);
  const rule = /.*lookup (100|150)\b.*/.exec((await lab.exec(node, ["ip", "rule", "show"])).stdout)?.[0];
  if (rule) found.push(`${node}: ip rule ${rule}`);
  for (const table of ["100", "150"])
    if ((await lab.exec(node, ["ip", "route", "show", "table", table])).stdout.trim()) found.push(`${node}: routes in table ${table}`);
  const chain = /.*CAUSEWAY.*/.exec((await lab.exec(node, ["iptables-save"])).stdout)?.[0];
  if (chain) found.push(`${node}: iptables ${chain}`);
  const set = /.*CAUSEWAY.*/.exec((await lab.exec(node, ["ipset", "list", "-n"])).stdout)?.[0];
  if (set) found.push(`${node}: ipset ${set}`);
  // The route agent's source guard (common/src/host/natguard.ts).
  if ((await lab.exec(node, ["nft", "list", "table", "ip", "causeway"])).exitCode === 0) found.push(`${node}: nftables table ip causeway`);
  return found;
}
