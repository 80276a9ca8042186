import { errorMessage } from "@causeway/api";
import type { host, Logger } from "@causeway/common";

/** How often a gateway starting without a route to the broker looks again. */
export const NO_ROUTE_RETRY_MS = 1000;
/** How often it says it is still waiting. */
const NO_ROUTE_LOG_MS = 30_000;

/**
 * The address this host sends from towards the broker (the first of `brokerAddress`'s
 * host:port entries): the gateway's private IP. While the host has no route there — its
 * underlay link down as the gateway starts (a container restarted during a link cut) — it waits,
 * asking again every `retryMs` and saying so every 30 s, rather than exiting: a process that
 * exits is restarted with a growing back-off (the kubelet's reaches 5 minutes), which would keep
 * the node out of the election long after its link is back. Undefined when the address names
 * no IPv4 host (a DNS name: the caller falls back to the node's address), or when `once` (an
 * uninstall, which must not wait) and the first look finds no route.
 */
export async function sourceTowards(
  net: Pick<host.Net, "mtuTowards">,
  brokerAddress: string,
  o: { log: Logger; retryMs?: number; once?: boolean },
): Promise<string | undefined> {
  const brokerHost = /^([\d.]+):\d+$/.exec(brokerAddress.split(",")[0]?.trim() ?? "")?.[1];
  if (!brokerHost) return undefined;
  const retryMs = o.retryMs ?? NO_ROUTE_RETRY_MS;
  let loggedAt = -Infinity;
  for (;;) {
    try {
      return (await net.mtuTowards(brokerHost)).src;
    } catch (err) {
      if (o.once) return undefined;
      if (performance.now() - loggedAt >= NO_ROUTE_LOG_MS) {
        loggedAt = performance.now();
        o.log.warn(
          { broker: brokerHost, err: errorMessage(err) },
          "no route to the broker (is the underlay link down?): waiting for one to find this gateway's private IP",
        );
      }
      await new Promise((r) => setTimeout(r, retryMs));
    }
  }
}
