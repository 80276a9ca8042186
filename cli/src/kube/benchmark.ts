/**
 * `causeway benchmark throughput|latency --kubeconfig …`: between a pod in cluster a and a pod
 * in cluster b (nodes without the gateway label preferred, so the traffic crosses the route agents
 * and both gateways), from Causeway's own image, in namespace causeway-benchmark (removed after).
 * Throughput: one TCP stream for 5 s, counted by the receiving pod (first to last byte).
 * Latency: 20 pings, as the lab's benchmark reports them.
 */
import { kube } from "@causeway/common";
import { CheckFailedError } from "../errors.ts";
import { componentImage, inTestNamespace, podReady, podReport, testPod, waitPod } from "./testpods.ts";

export const BENCHMARK_NAMESPACE = "causeway-benchmark";
const PORT = 5201;
const SECONDS = 5;

/** The receiver: counts each connection's bytes; when the sender ends, answers with the count and the ms from its first to its last byte. */
const RECEIVER = `require("net").createServer((s) => {
  let n = 0, t0 = 0, t1 = 0;
  s.on("data", (d) => { if (!t0) t0 = Date.now(); n += d.length; t1 = Date.now(); });
  s.on("end", () => s.end(JSON.stringify({ bytes: n, ms: t1 - t0 })));
}).listen(${PORT})`;

/** The sender: writes as fast as the connection takes for argv[2] seconds, then reports the receiver's count. */
const SENDER = `
const net = require("net"), fs = require("fs");
const [host, secs] = [process.argv[1], Number(process.argv[2])];
const buf = Buffer.alloc(65536, 7);
let out = "", error = "";
const s = net.connect({ host, port: ${PORT}, timeout: 10000 }, () => {
  const end = Date.now() + secs * 1000;
  const pump = () => { while (Date.now() < end) if (!s.write(buf)) return void s.once("drain", pump); s.end(); };
  pump();
});
s.on("data", (d) => (out += d));
s.on("timeout", () => { error = "timeout"; s.destroy(); });
s.on("error", (e) => (error = e.code || e.message));
s.on("close", () => fs.writeFileSync("/dev/termination-log", out || JSON.stringify({ error: error || "no answer" })));`;

/** Pings argv[1] 20 times (every 0.2 s) and reports ping's summary. */
const PINGER = `
const { execFile } = require("child_process"), fs = require("fs");
execFile("ping", ["-n", "-q", "-c", "20", "-i", "0.2", process.argv[1]], { timeout: 30000 }, (err, stdout, stderr) =>
  fs.writeFileSync("/dev/termination-log", JSON.stringify({ out: String(stdout) + String(stderr), error: err && !stdout ? String(err.message) : undefined })));`;

/** Pure: the latency line from ping's summary. */
export function latencyLine(what: string, out: string): string {
  const rtt = /= ([\d.]+)\/([\d.]+)\/([\d.]+)\/([\d.]+) ms/.exec(out);
  const loss = /(\d+(?:\.\d+)?)% packet loss/.exec(out)?.[1];
  if (!rtt) throw new CheckFailedError(`ping ${what} failed: ${out.trim() || "no output"}`);
  return `latency ${what}, 20 pings: min ${rtt[1]} ms  avg ${rtt[2]} ms  max ${rtt[3]} ms  mdev ${rtt[4]} ms  loss ${loss}%`;
}

/** Pure: the throughput line from the receiver's count. */
export function throughputLine(what: string, r: { bytes?: number; ms?: number; error?: string }): string {
  if (!r.bytes || !r.ms) throw new CheckFailedError(`TCP ${what} failed: ${r.error ?? "nothing received"}`);
  return `throughput ${what}, TCP ${SECONDS} s: ${((r.bytes * 8) / (r.ms / 1000) / 1e9).toFixed(2)} Gbit/s received (${(r.bytes / 2 ** 20).toFixed(0)} MiB)`;
}

/** Runs the benchmark from a pod in `a` to a pod in `b`; the line to print. */
export async function benchmarkKube(a: kube.KubeClient, b: kube.KubeClient, what: "throughput" | "latency", timeoutMs = 90_000): Promise<string> {
  const ns = BENCHMARK_NAMESPACE;
  const [ia, ib] = [await componentImage(a), await componentImage(b)];
  return inTestNamespace([a, b], ns, timeoutMs, async () => {
    // A server pod in b: the TCP receiver (also the ping target: any pod answers pings).
    await b.create(kube.R.pod, testPod({ name: "server", namespace: ns, image: ib, script: RECEIVER, role: "server", readyPort: PORT }));
    const server = await waitPod(b, ns, "server", podReady, timeoutMs);
    const ip = server.status?.podIP ?? "";
    const client =
      what === "latency"
        ? testPod({ name: "client", namespace: ns, image: ia, script: PINGER, args: [ip], role: "client", capabilities: ["NET_RAW"] })
        : testPod({ name: "client", namespace: ns, image: ia, script: SENDER, args: [ip, String(SECONDS)], role: "client" });
    await a.create(kube.R.pod, client);
    const report = await podReport<{ out: string; bytes: number; ms: number; error: string }>(a, ns, "client", timeoutMs);
    const started = await a.get<{ spec?: { nodeName?: string } }>(kube.R.pod, ns, "client");
    const path = `${a.context} pod (node ${started.spec?.nodeName ?? "?"}) → ${b.context} pod ${ip} (node ${server.spec?.nodeName ?? "?"})`;
    return what === "latency" ? latencyLine(path, report.out ?? report.error ?? "") : throughputLine(path, report);
  });
}
