import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import { CausewayError, errorMessage, SYSTEM_NAMESPACE, ValidationError } from "@causeway/api";
import { closest, KubeClient } from "./kube/client.ts";
import { checkCrds, type JoinedCluster, loadJoinedCluster, uninstallRequested } from "./kube/config.ts";
import { resyncMsFromFlag } from "./loop.ts";
import { createLogger, type Logger } from "./log.ts";
import { metricsPortFromFlag, newRegistry, ProbeServer } from "./metrics.ts";
import type { Registry } from "prom-client";
import { loadSite, type Site, type SiteNode, siteNode } from "./site.ts";

/** What a standalone component's builder gets: its site, node, logger and flags. */
export interface SiteContext {
  readonly site: Site;
  readonly node: SiteNode;
  readonly log: Logger;
  readonly resyncMs: number;
  readonly uninstall: boolean;
  /** A string flag from the component's extra options; undefined when not given. */
  readonly flag: (name: string) => string | undefined;
  /** A boolean flag from the component's extra options. */
  readonly bool: (name: string) => boolean;
  /** A flag as parsed: its string, true/false for a boolean flag, undefined when not given. */
  readonly value: (name: string) => string | boolean | undefined;
  /** Where the component's metrics go (served on --metrics-port with /healthz and /readyz). */
  readonly registry: Registry;
}

/** A long-running component: started once, stopped on SIGTERM/SIGINT, or asked to remove everything it made. */
export interface SiteComponent {
  start(): void;
  stop(): Promise<void>;
  uninstall(): Promise<void>;
  /** Why the component is not ready (its /readyz answers 503 with this), or undefined when it is. */
  ready?(): string | undefined;
}

export interface SiteMainOptions {
  /** Process name, e.g. "causeway-route-agent": the log component and the fatal line. */
  readonly name: string;
  /** Flags beyond --site, --node, --uninstall and --resync-seconds, for the usage line. */
  readonly usage?: string;
  readonly options?: ParseArgsOptionsConfig;
  /** Default of --metrics-port (/metrics, /healthz, /readyz; 0: none). */
  readonly metricsPort: number;
  /** Builds the component; every check that must precede touching the host belongs here. */
  build(c: SiteContext): Promise<{ component: SiteComponent; started: Record<string, unknown>; removed: string }>;
}

/**
 * The main of a standalone site component: common flags → site file → node → build → start,
 * or `--uninstall`. Any start-up error ends the process with one fatal log line and its exit code (2: refused configuration),
 * before the host is touched. On SIGTERM/SIGINT the component stops and leaves the host as it is.
 */
export async function runSiteMain(o: SiteMainOptions): Promise<void> {
  await launch(
    o.name,
    o.metricsPort,
    { site: { type: "string" }, node: { type: "string" }, ...o.options },
    async ({ str, bool, value, boot, uninstall, registry }) => {
      const sitePath = str("site");
      const nodeName = str("node");
      if (!sitePath || !nodeName) throw new ValidationError(`usage: ${o.name} --site <site.yaml> --node <name>${o.usage ? ` ${o.usage}` : ""} [--uninstall]`);
      const site = loadSite(sitePath);
      const node = siteNode(site, nodeName);
      const log = boot.child({ cluster: site.clusterId, node: node.name });
      const built = await o.build({ site, node, log, resyncMs: resyncMsFromFlag(str("resync-seconds")), uninstall, flag: str, bool, value, registry });
      return { log, built, fields: { broker: site.broker.address }, message: `${o.name} started` };
    },
  );
}

type Built = Awaited<ReturnType<SiteMainOptions["build"]>>;

interface Launch {
  readonly boot: Logger;
  readonly uninstall: boolean;
  /** A string flag; undefined when not given. */
  readonly str: (name: string) => string | undefined;
  readonly bool: (name: string) => boolean;
  readonly value: (name: string) => string | boolean | undefined;
  readonly registry: Registry;
}

/**
 * What both mains share: common flags (--uninstall, --resync-seconds, --metrics-port), the
 * metrics and probe server (first: a port in use stops the process before the host is
 * touched), then `prepare`, then uninstall-and-exit or start with signal handling. Any error:
 * one fatal line, exit 2 for refused configuration (CausewayError.exitCode), 1 otherwise.
 */
async function launch(
  name: string,
  metricsPort: number,
  options: ParseArgsOptionsConfig,
  prepare: (l: Launch) => Promise<{ log: Logger; built: Built; fields: Record<string, unknown>; message: string; whenStopped?: () => Promise<boolean> }>,
): Promise<void> {
  const boot = createLogger(name);
  try {
    const all: ParseArgsOptionsConfig = {
      uninstall: { type: "boolean", default: false },
      "resync-seconds": { type: "string", default: "30" },
      "metrics-port": { type: "string" },
      ...options,
    };
    const { values } = parseFlags(all);
    const flags: Readonly<Record<string, unknown>> = values;
    const str = (k: string): string | undefined => (typeof flags[k] === "string" ? flags[k] : undefined);
    const bool = (k: string): boolean => flags[k] === true;
    const value = (k: string): string | boolean | undefined => (typeof flags[k] === "string" || typeof flags[k] === "boolean" ? flags[k] : undefined);
    const uninstall = values.uninstall === true;
    const registry = newRegistry(name);
    const port = uninstall ? 0 : metricsPortFromFlag(str("metrics-port"), metricsPort);
    // Served from the start (a port in use stops us before the host is touched); ready once the component runs and says so.
    const live: { component?: SiteComponent } = {};
    const ready = () => (live.component ? live.component.ready?.() : "starting");
    const probes = port ? await ProbeServer.start({ port, registry, log: boot, ready }) : undefined;
    const { log, built, fields, message, whenStopped } = await prepare({ boot, uninstall, str, bool, value, registry });
    const { component, started, removed } = built;
    if (uninstall) {
      await component.uninstall();
      log.info(removed);
      process.exit(0);
    }
    component.start();
    live.component = component;
    log.info({ ...fields, ...started, ...(probes ? { metricsPort: probes.port } : {}) }, message);
    const onSignal = async () => {
      // Kubernetes mode: stopped because Causeway is being uninstalled → remove this node's state too.
      if (await (whenStopped ?? (async () => false))()) {
        log.info("Causeway is being uninstalled: removing this component's state");
        await component.uninstall().catch((err: unknown) => log.error({ err: errorMessage(err) }, "uninstall incomplete"));
        log.info(removed);
      } else {
        await component.stop();
      }
      process.exit(0);
    };
    for (const sig of ["SIGTERM", "SIGINT"] as const) process.once(sig, () => void onSignal());
  } catch (err) {
    boot.fatal({ err: errorMessage(err) }, `${name} cannot start`);
    // Refused configuration (ValidationError, kube errors, …) exits 2, any other product failure 1, as the CLI does; a bug 1.
    process.exit(err instanceof CausewayError ? err.exitCode : 1);
  }
}

/** What a Kubernetes-mode component's builder gets: a client, the cluster's join config, its node. */
export interface KubeContext {
  readonly client: KubeClient;
  readonly namespace: string;
  readonly cluster: JoinedCluster;
  readonly nodeName: string;
  readonly log: Logger;
  readonly resyncMs: number;
  readonly uninstall: boolean;
  readonly flag: (name: string) => string | undefined;
  readonly bool: (name: string) => boolean;
  /** A flag as parsed: its string, true/false for a boolean flag, undefined when not given. */
  readonly value: (name: string) => string | boolean | undefined;
  readonly registry: Registry;
}

export interface KubeMainOptions {
  readonly name: string;
  /** Default of --metrics-port (/metrics, /healthz, /readyz; 0: none). */
  readonly metricsPort: number;
  /** Whether the component needs the broker credential (the gateway does; route agents never read it). */
  readonly brokerToken: boolean;
  readonly options?: ParseArgsOptionsConfig;
  build(c: KubeContext): Promise<{ component: SiteComponent; started: Record<string, unknown>; removed: string }>;
}

/**
 * The main of a component in Kubernetes mode (a DaemonSet pod): --kubeconfig/--context (default:
 * the pod's service account), --namespace, --node (default $NODE_NAME) → the cluster's join
 * configuration and CRD check → build → start. Start-up errors: one fatal line, exit 2 for refused configuration.
 */
export async function runKubeMain(o: KubeMainOptions): Promise<void> {
  const options: ParseArgsOptionsConfig = {
    kube: { type: "boolean", default: true },
    kubeconfig: { type: "string" },
    context: { type: "string" },
    namespace: { type: "string", default: process.env.CAUSEWAY_NAMESPACE ?? SYSTEM_NAMESPACE },
    node: { type: "string", default: process.env.NODE_NAME },
    ...o.options,
  };
  await launch(o.name, o.metricsPort, options, async ({ str, bool, value, boot, uninstall, registry }) => {
    const nodeName = str("node");
    if (!nodeName) throw new ValidationError(`usage: ${o.name} --kube [--kubeconfig FILE] [--context NAME] --node <node name> (or NODE_NAME set)`);
    const resyncMs = resyncMsFromFlag(str("resync-seconds"));
    const client = await KubeClient.connect({ kubeconfig: str("kubeconfig"), context: str("context") });
    const namespace = str("namespace") ?? SYSTEM_NAMESPACE;
    await checkCrds(client);
    const cluster = await loadJoinedCluster(client, namespace, o.brokerToken);
    const log = boot.child({ cluster: cluster.clusterId, node: nodeName });
    const built = await o.build({ client, namespace, cluster, nodeName, log, resyncMs, uninstall, flag: str, bool, value, registry });
    return {
      log,
      built,
      fields: { server: client.server, broker: cluster.brokerAddress },
      message: `${o.name} started (Kubernetes mode)`,
      whenStopped: () => uninstallRequested(client, namespace),
    };
  });
}

/** parseArgs (strict), with an unknown flag refused as a ValidationError naming the closest known flag. */
export function parseFlags<T extends ParseArgsOptionsConfig>(options: T) {
  try {
    return parseArgs({ options });
  } catch (err) {
    const flag = /Unknown option '--?([^']+)'/.exec(err instanceof Error ? err.message : "")?.[1];
    if (!flag) throw new ValidationError(err instanceof Error ? err.message : String(err));
    const near = closest(flag, Object.keys(options));
    throw new ValidationError(`unknown flag --${flag}${near ? `; did you mean --${near}?` : ""}`);
  }
}
