/** Lab e2e, globalnet on standalone labs (scenario.ts), with the VXLAN and the WireGuard cable. Needs root. */
import { globalnetScenario } from "./scenario.ts";

globalnetScenario({ lab: "cwgnv", cable: "vxlan" });
globalnetScenario({ lab: "cwgnw", cable: "wireguard" });
