import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { kube, ProcessRunner } from "@causeway/common";
import { ApiServer, destroyNamespaces, kubeApiServerBinary } from "@causeway/lab";

/** A standalone API server for kube-tier tests: its own namespace and directory, removed by stop(). */
export interface KubeFixture {
  readonly api: ApiServer;
  readonly binary: string;
  /** A client as `user` (default admin) through the harness socket. */
  client(user?: string): Promise<kube.KubeClient>;
  kubeconfig(user?: string): string;
  stop(): Promise<void>;
}

export async function startKubeFixture(prefix: string, users: Readonly<Record<string, readonly string[]>> = {}): Promise<KubeFixture> {
  const run = new ProcessRunner();
  const binary = kubeApiServerBinary();
  const ns = `${prefix}-${process.pid}`;
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  const ip = "198.18.250.1";
  await destroyNamespaces(run, [ns]);
  await run.run("ip", ["netns", "add", ns]);
  const api = new ApiServer({ ns, dir, ips: [ip], serviceCidr: "10.250.0.0/16", users });
  const clients: kube.KubeClient[] = [];
  const stop = async (): Promise<void> => {
    for (const c of clients) c.close();
    await api.stop();
    await destroyNamespaces(run, [ns]);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    // No dummy links on every kernel: a veth pair inside the namespace carries the advertised address.
    await run.run("ip", ["-n", ns, "link", "add", "api0", "type", "veth", "peer", "name", "api1"]);
    await run.run("ip", ["-n", ns, "addr", "add", `${ip}/24`, "dev", "api0"]);
    for (const dev of ["lo", "api0", "api1"]) await run.run("ip", ["-n", ns, "link", "set", dev, "up"]);
    await api.start(binary);
  } catch (err) {
    await stop();
    throw err;
  }
  const kubeconfig = (user = "admin"): string => api.writeKubeconfig(join(dir, `${user}.kubeconfig`), { context: "test", user });
  return {
    api,
    binary,
    kubeconfig,
    async client(user = "admin") {
      const c = await kube.KubeClient.connect({ kubeconfig: kubeconfig(user) });
      clients.push(c);
      return c;
    },
    stop,
  };
}
