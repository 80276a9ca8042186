/** Names, ports and numbers the route agent owns (reference §6; our names). */
export const VX = { name: "vx-causeway", vni: 100, port: 4800, vtepOctet: 240, overhead: 50 } as const;
export const TABLE = 150;
export const RULE_PRIORITY = 150;
