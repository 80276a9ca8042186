import { existsSync, readFileSync } from "node:fs";
import type { ClientRequest } from "node:http";
import https from "node:https";
import { errorMessage } from "@causeway/api";
// Type only here: the library (~2,000 modules) loads when a client connects, so processes that never talk to an API server (the CLI against a broker) do not pay for it.
import type { KubeConfig } from "@kubernetes/client-node";
import { inClusterCredentials, inClusterEnv, type KubeCredentials } from "./incluster.ts";
import { parseYaml } from "../yaml.ts";
import { KubeConfigError, kubeErrorFromResponse, KubeNotFoundError, type KubeRequestInfo, KubeUnreachableError } from "./errors.ts";

/** One resource type of the API: where it lives and what its objects are called. */
export interface ResourceType {
  /** "" for the core group. */
  readonly group: string;
  readonly version: string;
  readonly plural: string;
  readonly kind: string;
  readonly namespaced: boolean;
}

/** The metadata every object has; what our code reads of it. */
export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
}

export interface ListResult<T> {
  readonly items: T[];
  readonly resourceVersion: string;
}

/** One watch event as the server sends it; `object` is unvalidated. */
export interface RawWatchEvent {
  readonly type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  readonly object: unknown;
}

export interface KubeClientOptions {
  /** Path of a kubeconfig; default: $KUBECONFIG, ~/.kube/config, or the in-cluster service account. */
  readonly kubeconfig?: string;
  /** Context to use; default: the kubeconfig's current context. */
  readonly context?: string;
  /** Per-request timeout (connect + answer) for non-watch calls; default 10 s. */
  readonly timeoutMs?: number;
}

/**
 * A kubeconfig cluster extension the lab writes: the API server is also reachable through this
 * Unix socket (a forwarder into the lab's network namespace). TLS is still verified against the
 * server URL's host. kubectl ignores the extension and uses the URL.
 */
export const SOCKET_EXTENSION = "causeway.io/socket";

export const apiVersionOf = (rt: ResourceType): string => (rt.group ? `${rt.group}/${rt.version}` : rt.version);

/** The REST path of a resource type, optionally narrowed to a namespace, object and subresource. */
export function resourcePath(rt: ResourceType, namespace?: string, name?: string, sub?: string): string {
  let p = rt.group ? `/apis/${rt.group}/${rt.version}` : `/api/${rt.version}`;
  if (rt.namespaced && namespace) p += `/namespaces/${encodeURIComponent(namespace)}`;
  p += `/${rt.plural}`;
  if (name) p += `/${encodeURIComponent(name)}`;
  if (sub) p += `/${sub}`;
  return p;
}

const query = (q: Record<string, string | number | boolean | undefined>): string => {
  const s = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== "") s.set(k, String(v));
  const t = s.toString();
  return t ? `?${t}` : "";
};

/**
 * The one door to a Kubernetes API server (CONVENTIONS 9): loads a kubeconfig with
 * @kubernetes/client-node (contexts, certificates, tokens, exec plugins), then speaks plain
 * HTTPS so that every answer is converted to our typed errors here and nowhere else.
 */
export class KubeClient {
  readonly server: string;
  readonly context: string;
  /** The kubeconfig's name for the context's cluster (join's default cluster id). */
  readonly clusterName: string;
  readonly #kc: KubeCredentials;
  readonly #agent: https.Agent;
  readonly #socket: string | undefined;
  readonly #timeoutMs: number;

  private constructor(kc: KubeCredentials, agent: https.Agent, socket: string | undefined, timeoutMs: number) {
    this.#kc = kc;
    this.#agent = agent;
    this.#socket = socket;
    this.#timeoutMs = timeoutMs;
    this.server = kc.getCurrentCluster()?.server ?? "";
    this.context = kc.getCurrentContext();
    this.clusterName = kc.getCurrentCluster()?.name ?? "";
  }

  /** Loads the kubeconfig and context; throws KubeConfigError naming what is missing. Sends nothing. */
  static async connect(o: KubeClientOptions = {}): Promise<KubeClient> {
    const file = o.kubeconfig ?? process.env.KUBECONFIG;
    // A pod's own credentials without the library (its components' resident memory); anything else through it.
    const kc: KubeCredentials =
      !file && !o.context && inClusterEnv()
        ? inClusterCredentials()
        : loadKubeConfig(new (await import("@kubernetes/client-node")).KubeConfig(), file, o.context);
    const cluster = kc.getCurrentCluster();
    if (!cluster?.server) throw new KubeConfigError(`kubeconfig ${file ?? "(default)"} has no server for context "${kc.getCurrentContext()}"`);
    const opts: https.RequestOptions = {};
    await kc.applyToHTTPSOptions(opts);
    const agent = new https.Agent({ keepAlive: true, ca: opts.ca, cert: opts.cert, key: opts.key, rejectUnauthorized: opts.rejectUnauthorized ?? true });
    return new KubeClient(kc, agent, file ? socketOf(file, cluster.name) : undefined, o.timeoutMs ?? 10_000);
  }

  /** Checks that the API server answers (GET /version) within `timeoutMs`; throws a typed error otherwise. */
  async ping(timeoutMs = 5000): Promise<{ gitVersion?: string }> {
    return this.request("GET", "/version", { timeoutMs });
  }

  /** Closes idle connections; in-flight requests finish. */
  close(): void {
    this.#agent.destroy();
  }

  async #headers(): Promise<Record<string, string>> {
    const opts: https.RequestOptions = {};
    // Re-applied per request: exec plugins and token files may rotate credentials.
    await this.#kc.applyToHTTPSOptions(opts);
    const h: Record<string, string> = { Accept: "application/json" };
    for (const [k, v] of Object.entries(opts.headers ?? {})) if (v !== undefined) h[k] = String(v);
    return h;
  }

  #open(method: string, path: string, headers: Record<string, string>, timeoutMs: number | undefined): ClientRequest {
    const url = new URL(path, this.server);
    return https.request(url, {
      method,
      agent: this.#agent,
      headers,
      timeout: timeoutMs,
      ...(this.#socket ? { socketPath: this.#socket } : {}),
    });
  }

  /** One request; parses a JSON answer; throws a KubeError subclass for every failure. */
  async request<T = unknown>(method: string, path: string, o: { body?: unknown; contentType?: string; timeoutMs?: number } = {}): Promise<T> {
    const info: KubeRequestInfo = { method, path, server: this.server };
    const headers = await this.#headers();
    const payload = o.body === undefined ? undefined : typeof o.body === "string" ? o.body : JSON.stringify(o.body);
    if (payload !== undefined) headers["Content-Type"] = o.contentType ?? "application/json";
    const timeoutMs = o.timeoutMs ?? this.#timeoutMs;
    const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = this.#open(method, path, headers, timeoutMs);
      req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.on("error", (err) => reject(unreachable(info, err)));
      req.on("response", (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", (err) => reject(unreachable(info, err)));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
      });
      req.end(payload);
    });
    if (status < 200 || status >= 300) throw kubeErrorFromResponse(info, status, body);
    return (body ? JSON.parse(body) : {}) as T;
  }

  get<T = unknown>(rt: ResourceType, namespace: string | undefined, name: string): Promise<T> {
    return this.request<T>("GET", resourcePath(rt, namespace, name));
  }

  /** Like get, but undefined when the object does not exist (other errors still throw). */
  async find<T = unknown>(rt: ResourceType, namespace: string | undefined, name: string): Promise<T | undefined> {
    try {
      return await this.get<T>(rt, namespace, name);
    } catch (err) {
      if (err instanceof KubeNotFoundError) return undefined;
      throw err;
    }
  }

  /** Lists objects; `resourceVersion` is the list's, for a watch that follows. */
  async list<T = unknown>(rt: ResourceType, namespace?: string, o: { labelSelector?: string; fieldSelector?: string } = {}): Promise<ListResult<T>> {
    const res = await this.request<{ items?: T[]; metadata?: { resourceVersion?: string } }>("GET", resourcePath(rt, namespace) + query({ ...o }));
    return { items: res.items ?? [], resourceVersion: res.metadata?.resourceVersion ?? "" };
  }

  create<T = unknown>(rt: ResourceType, obj: KubeObject): Promise<T> {
    return this.request<T>("POST", resourcePath(rt, obj.metadata.namespace), { body: { apiVersion: apiVersionOf(rt), kind: rt.kind, ...obj } });
  }

  /** PUT: succeeds only if metadata.resourceVersion is current (optimistic concurrency), else KubeConflictError. */
  replace<T = unknown>(rt: ResourceType, obj: KubeObject, sub?: string): Promise<T> {
    return this.request<T>("PUT", resourcePath(rt, obj.metadata.namespace, obj.metadata.name, sub), {
      body: { apiVersion: apiVersionOf(rt), kind: rt.kind, ...obj },
    });
  }

  /** Server-side apply: idempotent; fields owned by `fieldManager` converge to `obj`. */
  apply<T = unknown>(rt: ResourceType, obj: KubeObject, o: { fieldManager: string; force?: boolean; dryRun?: boolean; sub?: string }): Promise<T> {
    const path =
      resourcePath(rt, obj.metadata.namespace, obj.metadata.name, o.sub) +
      query({ fieldManager: o.fieldManager, force: o.force ?? true, dryRun: o.dryRun ? "All" : undefined });
    return this.request<T>("PATCH", path, { body: { apiVersion: apiVersionOf(rt), kind: rt.kind, ...obj }, contentType: "application/apply-patch+yaml" });
  }

  /** Deletes; true if it existed. */
  async delete(rt: ResourceType, namespace: string | undefined, name: string): Promise<boolean> {
    try {
      await this.request("DELETE", resourcePath(rt, namespace, name));
      return true;
    } catch (err) {
      if ((err as { status?: number }).status === 404) return false;
      throw err;
    }
  }

  /**
   * Opens a watch stream from `resourceVersion`. Events arrive in order; `onClose` is called
   * once, with the error if the stream failed (a 410 arrives as KubeGoneError). Returns cancel.
   */
  watch(
    rt: ResourceType,
    namespace: string | undefined,
    o: { resourceVersion: string; timeoutSeconds?: number; labelSelector?: string },
    onEvent: (e: RawWatchEvent) => void,
    onClose: (err?: Error) => void,
  ): () => void {
    const path =
      resourcePath(rt, namespace) +
      query({
        watch: 1,
        allowWatchBookmarks: true,
        resourceVersion: o.resourceVersion,
        timeoutSeconds: o.timeoutSeconds ?? 300,
        labelSelector: o.labelSelector,
      });
    const info: KubeRequestInfo = { method: "GET", path, server: this.server };
    let closed = false;
    let req: ClientRequest | undefined;
    const close = (err?: Error): void => {
      if (closed) return;
      closed = true;
      req?.destroy();
      onClose(err);
    };
    void this.#headers().then((headers) => {
      if (closed) return;
      req = this.#open("GET", path, headers, undefined);
      // Connecting must be quick; a silent established stream is ended by the server's timeoutSeconds.
      const connectTimer = setTimeout(() => close(unreachable(info, new Error(`no answer within ${this.#timeoutMs} ms`))), this.#timeoutMs);
      req.on("error", (err) => close(unreachable(info, err)));
      req.on("response", (res) => {
        clearTimeout(connectTimer);
        const status = res.statusCode ?? 0;
        let buf = "";
        res.setEncoding("utf8");
        if (status !== 200) {
          res.on("data", (c: string) => (buf += c));
          res.on("end", () => close(kubeErrorFromResponse(info, status, buf)));
          return;
        }
        res.on("data", (c: string) => {
          buf += c;
          let nl: number;
          while ((nl = buf.indexOf("\n")) >= 0) {
            const line = buf.slice(0, nl).trim();
            buf = buf.slice(nl + 1);
            if (!line || closed) continue;
            const e = JSON.parse(line) as RawWatchEvent;
            if (e.type === "ERROR") {
              const st = e.object as { code?: number };
              close(kubeErrorFromResponse(info, st.code ?? 500, JSON.stringify(e.object)));
              return;
            }
            onEvent(e);
          }
        });
        res.on("error", (err) => close(unreachable(info, err)));
        res.on("end", () => close());
        res.on("close", () => close(closed ? undefined : unreachable(info, new Error("watch stream closed"))));
      });
      req.end();
    });
    return () => {
      closed = true;
      req?.destroy();
    };
  }
}

function loadKubeConfig(kc: KubeConfig, file: string | undefined, context: string | undefined): KubeConfig {
  try {
    if (file) {
      if (!existsSync(file)) throw new KubeConfigError(`kubeconfig ${file} does not exist; pass --kubeconfig with the path of a kubeconfig file`);
      kc.loadFromFile(file);
    } else {
      kc.loadFromDefault();
    }
  } catch (err) {
    if (err instanceof KubeConfigError) throw err;
    throw new KubeConfigError(`cannot read kubeconfig ${file ?? "(default)"}: ${errorMessage(err)}`, { cause: err });
  }
  if (context) {
    if (!kc.getContextObject(context)) {
      const names = kc.getContexts().map((c) => c.name);
      const near = closest(context, names);
      throw new KubeConfigError(
        `context "${context}" is not in kubeconfig ${file ?? "(default)"}${near ? `; did you mean "${near}"?` : ""} (contexts: ${names.join(", ") || "none"})`,
      );
    }
    kc.setCurrentContext(context);
  } else if (!kc.getContextObject(kc.getCurrentContext()) && kc.getContexts().length > 0) {
    const names = kc.getContexts().map((c) => c.name);
    const current = kc.getCurrentContext();
    throw new KubeConfigError(
      `kubeconfig ${file ?? "(default)"} ${current ? `names current context "${current}", which it does not define` : "has no current context"}; pass --context (contexts: ${names.join(", ")})`,
    );
  }
  return kc;
}

function unreachable(info: KubeRequestInfo, err: Error): KubeUnreachableError {
  const code = (err as { code?: string }).code;
  return new KubeUnreachableError(
    `cannot reach the API server ${info.server} (${code ? `${code}: ` : ""}${err.message}); check the kubeconfig's server address and that the API server is running`,
    info,
    0,
    code ?? "Unreachable",
    { cause: err },
  );
}

/** The lab socket of a kubeconfig cluster, when the file declares one and it exists. */
function socketOf(file: string, clusterName: string): string | undefined {
  try {
    const doc = parseYaml(readFileSync(file, "utf8")) as {
      clusters?: { name?: string; cluster?: { extensions?: { name?: string; extension?: { path?: string } }[] } }[];
    };
    const c = doc.clusters?.find((x) => x.name === clusterName);
    const path = c?.cluster?.extensions?.find((e) => e.name === SOCKET_EXTENSION)?.extension?.path;
    return path && existsSync(path) ? path : undefined;
  } catch {
    return undefined;
  }
}

/** Pure: the candidate closest to `word` by edit distance, when it is close enough to be a likely typo (at most a third of its length, rounded up). */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const dist = (a: string, b: string): number => {
    const row = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
      let prev = row[0] ?? 0;
      row[0] = i;
      for (let j = 1; j <= b.length; j++) {
        const cur = row[j] ?? 0;
        row[j] = Math.min(cur + 1, (row[j - 1] ?? 0) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
        prev = cur;
      }
    }
    return row[b.length] ?? 0;
  };
  let best: { c: string; d: number } | undefined;
  for (const c of candidates) {
    const d = dist(word, c);
    if (!best || d < best.d) best = { c, d };
  }
  return best && best.d <= Math.max(1, Math.ceil(word.length / 3)) ? best.c : undefined;
}
