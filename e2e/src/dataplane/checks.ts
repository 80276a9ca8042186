import assert from "node:assert/strict";
import { type Lab, until } from "@causeway/lab";

/** Runs the lab TCP client in `from` against host:port (the echo server answers "<who> sees <client ip>:<port>"). */
export function tcpFrom(lab: Lab, from: string, host: string, port = 8080, extra: readonly string[] = []) {
  return lab.exec(from, [process.execPath, "lab/src/tools/client.ts", "--host", host, "--port", String(port), ...extra], 60_000);
}

/** ICMP (retried until the path is up), then TCP from one lab pod to another; the server must see the client pod's own IP. */
export async function assertPodReaches(lab: Lab, from: string, to: string): Promise<void> {
  const dst = lab.resolve(to).ip;
  await until("ping", async () => ((await lab.exec(from, ["ping", "-c", "2", "-i", "0.2", "-W", "1", dst])).exitCode === 0 ? true : undefined));
  const r = await tcpFrom(lab, from, dst);
  assert.equal(r.exitCode, 0, r.stdout + r.stderr);
  assert.match(r.stdout, new RegExp(`^${to} sees ${lab.resolve(from).ip.replaceAll(".", "\\.")}:`));
}
