/**
 * The Go-built tools the lab and the tests use, built (or found in the cache) as one step with
 * two lanes in parallel — the Kubernetes binaries, the longest, beside CoreDNS → helm → wireguard-go → flannel —
 * each tool's time in the step's line. Returns each tool's path.
 */
import { command, seconds, type Step, step } from "./steps.ts";

/** Builds one tool with its build script (stdout: the binary's path); its path and time. */
async function build(name: string, script: string): Promise<{ name: string; path: string; ms: number }> {
  const t0 = performance.now();
  const path = await command("bash", [script], { captureStdout: true });
  return { name, path, ms: performance.now() - t0 };
}

export type Tool = "kubernetes" | "coredns" | "helm" | "wireguard-go" | "flannel";
/** Each tool's build script (it prints the built binary's path, or its directory). */
const TOOL_SCRIPTS: Record<Tool, string> = {
  kubernetes: "lab/kube/build.sh",
  coredns: "lab/coredns/build.sh",
  helm: "deploy/helm/build.sh",
  "wireguard-go": "lab/wireguard/build.sh",
  flannel: "lab/flannel/build.sh",
};

/** The step that builds `tools` (cached builds answer at once), the Kubernetes binaries beside the others; its line gives each tool's time, its result each tool's path. */
export function toolsStep(tools: readonly Tool[]): Step<Record<string, string>> {
  const times: string[] = [];
  return {
    label: `Go-built tools: ${tools.join(", ")}`,
    run: async () => {
      const kube = tools.includes("kubernetes") ? build("kubernetes", TOOL_SCRIPTS.kubernetes) : undefined;
      const rest: Awaited<ReturnType<typeof build>>[] = [];
      for (const t of tools.filter((x) => x !== "kubernetes")) rest.push(await build(t, TOOL_SCRIPTS[t]));
      const done = [...(kube ? [await kube] : []), ...rest];
      times.push(...done.map((x) => `${x.name} ${seconds(x.ms)}`));
      return Object.fromEntries(done.map((x) => [x.name, x.path]));
    },
    detail: () => `— ${times.join(", ")}`,
  };
}

/** Builds `tools` as one step (exit 1 with the log's tail when a build fails); each tool's path. */
export function buildTools(tools: readonly Tool[]): Promise<Record<string, string>> {
  const s = toolsStep(tools);
  return step(s.label, s.run, s.detail);
}
