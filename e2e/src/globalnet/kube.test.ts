/**
 * Lab e2e, globalnet on real nodes (scenario.ts): Causeway installed by deploy-broker --globalnet
 * and join, run from its image — the VXLAN cable beside kube-proxy in iptables mode, the WireGuard
 * cable beside kube-proxy in nftables mode. Needs root.
 */
import { globalnetScenario } from "./scenario.ts";

globalnetScenario({ lab: "cwgkv", cable: "vxlan", kubeProxyMode: "iptables" });
globalnetScenario({ lab: "cwgkw", cable: "wireguard", kubeProxyMode: "nftables" });
