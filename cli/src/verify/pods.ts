/**
 * `causeway verify --kubeconfig …`: the checks that need pods, like subctl verify's — from Causeway's
 * own image (the nodes have it: its components run from it), in a namespace of their own that is
 * deleted after. A server pod in each cluster answers every TCP connection with the address it
 * saw; a client pod in each cluster connects to the other cluster's server pod, and in a to b's
 * Service by its cluster IP and by its clusterset name, and leaves what it saw in its termination
 * message. The servers prefer nodes that are not gateways (traffic crosses the route agents too).
 */
import { type CheckResult, kube } from "@causeway/common";
import { CheckFailedError } from "../errors.ts";
import { componentImage, inTestNamespace, podReady, podReport, serviceEndpointsReady, testPod, waitPod } from "../kube/testpods.ts";

export const VERIFY_NAMESPACE = "causeway-verify";
const PORT = 8080;

/** The server: answers each connection with "seen <address of the client>". */
const SERVER = `require("net").createServer((s) => s.end("seen " + s.remoteAddress.replace(/^::ffff:/, "") + "\\n")).listen(${PORT})`;
/** The client: connects to each target (host:port, argv), records what the server answered, writes it as its termination message. */
const CLIENT = `
const net = require("net"), fs = require("fs");
const one = (t) => new Promise((res) => {
  const [host, port] = [t.slice(0, t.lastIndexOf(":")), Number(t.slice(t.lastIndexOf(":") + 1))];
  let out = "";
  const s = net.connect({ host, port, timeout: 2000 });
  s.on("data", (d) => (out += d));
  s.on("end", () => res({ target: t, answer: out.trim() }));
  s.on("timeout", () => { s.destroy(); res({ target: t, error: "timeout" }); });
  s.on("error", (e) => res({ target: t, error: e.code || e.message }));
});
(async () => {
  const results = [];
  for (const t of process.argv.slice(1)) {
    let r;
    // Up to 20 s a target: a fresh export takes a moment to reach the other cluster's DNS.
    const t0 = Date.now();
    for (const end = t0 + 20000; ; ) { r = await one(t); if (r.answer || Date.now() > end) break; await new Promise((x) => setTimeout(x, 1000)); }
    results.push({ ...r, ms: Date.now() - t0 });
  }
  fs.writeFileSync("/dev/termination-log", JSON.stringify({ self: process.env.POD_IP, results }));
})();`;

/** A verify test pod of `image` running `script`. */
const pod = (name: string, image: string, script: string, args: readonly string[], role: string) =>
  testPod({ name, namespace: VERIFY_NAMESPACE, image, script, args, role, ...(role === "server" ? { readyPort: PORT } : {}) });

/** Pure: a check from a client's report — the target answered, and saw the client pod's own address (source kept). */
export function sourceCheck(report: { self?: string; results: { target: string; answer?: string; error?: string; ms?: number }[] }, target: string): string {
  const r = report.results.find((x) => x.target === target);
  if (!r?.answer) throw new CheckFailedError(`no answer from ${target}${r?.ms ? ` within ${Math.round(r.ms / 1000)} s` : ""}: ${r?.error ?? "not tried"}`);
  const seen = r.answer.replace(/^seen /, "");
  if (seen !== report.self)
    throw new CheckFailedError(`${target} saw ${seen}, not the client pod's ${report.self ?? "?"}: its source address was rewritten on the way`);
  return `answered in ${r.ms ?? 0} ms, saw ${seen}`;
}

type Check = (name: string, f: () => Promise<string>) => Promise<CheckResult>;

/**
 * The pod checks between a and b (ids for the names), everything made removed after. `service`:
 * b's Service name for the by-name check, exported in b by the caller's discovery check, or "".
 */
export async function verifyPods(
  a: kube.KubeClient,
  b: kube.KubeClient,
  ids: readonly [string, string],
  check: Check,
  timeoutMs: number,
): Promise<CheckResult[]> {
  const [ia, ib] = ids;
  const out: CheckResult[] = [];
  let setup: CheckResult | undefined;
  try {
    const images = [await componentImage(a), await componentImage(b)] as const;
    return await inTestNamespace([a, b], VERIFY_NAMESPACE, timeoutMs, async () => {
      await a.create(kube.R.pod, pod("server", images[0], SERVER, [], "server"));
      await b.create(kube.R.pod, pod("server", images[1], SERVER, [], "server"));
      await b.create(kube.R.service, {
        metadata: { name: "server", namespace: VERIFY_NAMESPACE },
        ...{ spec: { selector: { "causeway-verify/role": "server" }, ports: [{ name: "tcp", port: PORT, protocol: "TCP" }] } },
      });
      await b.create(kube.R.serviceExport, { metadata: { name: "server", namespace: VERIFY_NAMESPACE } });
      const [sa, sb] = [await waitPod(a, VERIFY_NAMESPACE, "server", podReady, timeoutMs), await waitPod(b, VERIFY_NAMESPACE, "server", podReady, timeoutMs)];
      const svc = await b.get<{ spec?: { clusterIP?: string } }>(kube.R.service, VERIFY_NAMESPACE, "server");
      // The Service checks start once b's EndpointSlice shows the ready server: kube-proxy and the
      // lighthouse act on it. If it never does, the Service checks say so when they fail.
      const slices = await serviceEndpointsReady(b, VERIFY_NAMESPACE, "server", timeoutMs);
      const serviceCheck = async (target: string): Promise<string> => {
        try {
          return sourceCheck(ra, target);
        } catch (err) {
          const message = err instanceof Error ? err.message : String(err);
          throw new CheckFailedError(slices ? `${message}; in ${ib}, ${slices}` : message);
        }
      };
      const byName = `server.${VERIFY_NAMESPACE}.svc.clusterset.local:${PORT}`;
      const targets = { pod: `${sb.status?.podIP}:${PORT}`, service: `${svc.spec?.clusterIP}:${PORT}` };
      await a.create(kube.R.pod, pod("client", images[0], CLIENT, [targets.pod, targets.service, byName], "client"));
      await b.create(kube.R.pod, pod("client", images[1], CLIENT, [`${sa.status?.podIP}:${PORT}`], "client"));
      const report = async (c: kube.KubeClient) => ({
        results: [],
        ...(await podReport<Parameters<typeof sourceCheck>[0]>(c, VERIFY_NAMESPACE, "client", timeoutMs + 40_000)),
      });
      const reports: Parameters<typeof sourceCheck>[0][] = [];
      setup = await check(`test pods in ${ia} and ${ib} (image ${images[0]})`, async () => {
        reports.push(await report(a), await report(b));
        return "ran";
      });
      const [ra = { results: [] }, rb = { results: [] }] = reports;
      out.push(setup);
      out.push(await check(`pod in ${ia} → pod in ${ib}, source address kept`, async () => sourceCheck(ra, targets.pod)));
      out.push(await check(`pod in ${ib} → pod in ${ia}, source address kept`, async () => sourceCheck(rb, `${sa.status?.podIP}:${PORT}`)));
      out.push(await check(`pod in ${ia} → ${ib}'s Service by its cluster IP, source address kept`, () => serviceCheck(targets.service)));
      out.push(
        await check(`pod in ${ia} → ${ib}'s Service by its clusterset name`, async () =>
          (await serviceCheck(byName)).replace(/^answered/, `resolved and answered`),
        ),
      );
      return out;
    });
  } catch (err) {
    // The test pods could not be set up: one failing check says why (an image the nodes lack, no node to run on).
    return [...out, await check(`test pods in ${ia} and ${ib}`, () => Promise.reject(err instanceof Error ? err : new Error(String(err))))];
  }
}
