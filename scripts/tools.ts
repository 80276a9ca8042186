/**
 * The Go-built tools the lab and the tests use, built (or found in the cache) as one step with
 * two lanes in parallel — kube-apiserver, the longest, beside CoreDNS → helm → wireguard-go —
 * each tool's time in the step's line. Returns each tool's path.
 */
import { command, seconds, step } from "./steps.ts";

/** Builds one tool with its build script (stdout: the binary's path); its path and time. */
async function build(name: string, script: string): Promise<{ name: string; path: string; ms: number }> {
  const t0 = performance.now();
  const path = await command("bash", [script], { captureStdout: true });
  return { name, path, ms: performance.now() - t0 };
}

export type Tool = "kube-apiserver" | "coredns" | "helm" | "wireguard-go";
const SCRIPTS: Record<Tool, string> = {
  "kube-apiserver": "lab/kube/build.sh",
  coredns: "lab/coredns/build.sh",
  helm: "deploy/helm/build.sh",
  "wireguard-go": "lab/wireguard/build.sh",
};

/** Builds `tools` (cached builds answer at once); kube-apiserver runs beside the others. */
export async function buildTools(tools: readonly Tool[]): Promise<Record<string, string>> {
  const label = `Go-built tools: ${tools.join(", ")}`;
  const done = await step(
    label,
    async () => {
      const kube = tools.includes("kube-apiserver") ? build("kube-apiserver", SCRIPTS["kube-apiserver"]) : undefined;
      const rest: Awaited<ReturnType<typeof build>>[] = [];
      for (const t of tools.filter((x) => x !== "kube-apiserver")) rest.push(await build(t, SCRIPTS[t]));
      return [...(kube ? [await kube] : []), ...rest];
    },
    (r) => `— ${r.map((x) => `${x.name} ${seconds(x.ms)}`).join(", ")}`,
  );
  return Object.fromEntries(done.map((x) => [x.name, x.path]));
}
