import { readFileSync, statSync } from "node:fs";
// #call applies every generated client method with .call(this.#client), so none runs unbound.
/* eslint-disable @typescript-eslint/unbound-method */
import { BrokerClient, fromServiceError } from "@causeway/api/grpc";
import {
  type Cluster,
  type GlobalnetSettings,
  ValidationError,
  type Kind,
  type LeaseResponse,
  type ValueOf,
  type WatchEvent,
  type WireRecord,
} from "@causeway/api";
import { type ClientReadableStream, credentials, Metadata, type ServiceError } from "@grpc/grpc-js";

/**
 * A credential read from a file, again whenever the file changes (an admin rotating the
 * credential rewrites it; the next call carries the new one without a restart).
 */
export function tokenFromFile(path: string): () => string {
  let mtime = -1;
  let token = "";
  return () => {
    const st = statSync(path, { throwIfNoEntry: false });
    if (st && st.mtimeMs !== mtime) {
      token = readFileSync(path, "utf8").trim();
      mtime = st.mtimeMs;
    }
    return token;
  };
}

/**
 * Pure: the gRPC target of a broker address: `host:port`, `unix:///path`, or several replicas as
 * `host:port,host:port,…` (one channel over all of them: it uses one and moves to another when
 * that one goes away).
 */
export function brokerTarget(address: string): string {
  const parts = address
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (parts.length < 2) return address;
  const bad = parts.find((p) => !/^\d+\.\d+\.\d+\.\d+:\d+$/.test(p));
  if (bad)
    throw new ValidationError(`broker address "${bad}": several broker replicas are given as IPv4 host:port each (one name: use a Service or DNS name alone)`);
  return `ipv4:${parts.join(",")}`;
}

export interface BrokerConnectionOptions {
  /** host:port, unix:///path, or host:port,host:port,… (broker replicas) */
  readonly address: string;
  /** The credential, or how to read it now (a file an admin may rewrite on rotation: see tokenFromFile). */
  readonly token: string | (() => string);
  /** PEM of the broker's CA: TLS, the broker's certificate checked against it. Absent: plaintext. */
  readonly ca?: string | undefined;
  /** With a unix:// address (a forwarder to the broker's TLS port): TLS too, the certificate checked for this name. */
  readonly serverName?: string | undefined;
  /** Deadline for unary calls. */
  readonly callTimeoutMs?: number;
}

type UnaryFn<Req, Res> = (req: Req, md: Metadata, opts: { deadline: Date }, cb: (err: ServiceError | null, res: Res) => void) => unknown;

/**
 * A typed connection to the broker: bearer-token metadata, a deadline on every call, gRPC
 * errors converted to our typed errors (UnavailableError, PermissionDeniedError, ...).
 */
export class BrokerConnection {
  readonly address: string;
  readonly #client: BrokerClient;
  readonly #token: string | (() => string);
  readonly #timeoutMs: number;

  constructor(opts: BrokerConnectionOptions) {
    this.address = opts.address;
    const tls = opts.ca && (!opts.address.startsWith("unix:") || opts.serverName);
    this.#client = new BrokerClient(brokerTarget(opts.address), tls ? credentials.createSsl(Buffer.from(opts.ca ?? "")) : credentials.createInsecure(), {
      ...(opts.serverName ? { "grpc.ssl_target_name_override": opts.serverName, "grpc.default_authority": opts.serverName } : {}),
      "grpc.keepalive_time_ms": 10_000,
      "grpc.keepalive_timeout_ms": 5_000,
      "grpc.initial_reconnect_backoff_ms": 200,
      "grpc.max_reconnect_backoff_ms": 2_000,
    });
    this.#token = opts.token;
    this.#timeoutMs = opts.callTimeoutMs ?? 5_000;
  }

  /** The call's metadata: the credential as it is now. */
  #md(): Metadata {
    const md = new Metadata();
    md.set("authorization", `Bearer ${typeof this.#token === "function" ? this.#token() : this.#token}`);
    return md;
  }

  #call<Req, Res>(fn: UnaryFn<Req, Res>, req: Req, timeoutMs = this.#timeoutMs): Promise<Res> {
    return new Promise((resolve, reject) => {
      fn.call(this.#client, req, this.#md(), { deadline: new Date(Date.now() + timeoutMs) }, (err, res) =>
        err ? reject(fromServiceError(err)) : resolve(res),
      );
    });
  }

  /** Admin: adds a cluster; returns its credential. `globalnetDisabled`: `join --globalnet=false`. */
  join(cluster: Cluster, opts: { globalnetDisabled?: boolean } = {}) {
    return this.#call(this.#client.join, { clusterJson: JSON.stringify(cluster), globalnetDisabled: opts.globalnetDisabled ?? false });
  }

  /** The clusterset's settings members follow (deploy-broker's globalnet flags). */
  async clusterset(): Promise<GlobalnetSettings> {
    const r = await this.#call(this.#client.clusterset, {});
    return r.globalnet
      ? { enabled: true, cidrRange: r.globalnetCidrRange, clusterSize: r.globalnetClusterSize }
      : { enabled: false, cidrRange: "", clusterSize: 0 };
  }

  /** Admin or the cluster itself: removes the cluster and everything it owns. */
  leave(clusterId: string) {
    return this.#call(this.#client.leave, { clusterId });
  }

  async put<K extends Kind>(kind: K, clusterId: string, name: string, value: ValueOf<K>, opts: { expectedRevision?: number } = {}) {
    const res = await this.#call(this.#client.put, {
      record: { kind, clusterId, name, valueJson: JSON.stringify(value), revision: 0, createRevision: 0 },
      expectedRevision: opts.expectedRevision ?? 0,
      createOnly: false,
    });
    return res.record;
  }

  delete(kind: Kind, clusterId: string, name: string) {
    return this.#call(this.#client.delete, { kind, clusterId, name, expectedRevision: 0 });
  }

  list(kind: Kind | "" = "") {
    return this.#call(this.#client.list, { kind });
  }

  whoAmI() {
    return this.#call(this.#client.whoAmI, {});
  }

  acquireLease(name: string, holder: string, ttlMs: number, timeoutMs?: number): Promise<LeaseResponse> {
    return this.#call(this.#client.acquireLease, { name, holder, ttlMs }, timeoutMs);
  }

  renewLease(name: string, holder: string, ttlMs: number, timeoutMs?: number): Promise<LeaseResponse> {
    return this.#call(this.#client.renewLease, { name, holder, ttlMs }, timeoutMs);
  }

  releaseLease(name: string, holder: string, timeoutMs?: number): Promise<LeaseResponse> {
    return this.#call(this.#client.releaseLease, { name, holder, ttlMs: 0 }, timeoutMs);
  }

  /** Admin: a new credential for a cluster; the current one stays valid for graceSeconds. */
  rotateCredential(clusterId: string, o: { graceSeconds?: number; ttlSeconds?: number } = {}) {
    return this.#call(this.#client.rotateCredential, { clusterId, graceSeconds: o.graceSeconds ?? 0, ttlSeconds: o.ttlSeconds ?? 0 });
  }

  /** Admin: the cluster's credential is refused from now on. */
  revokeCredential(clusterId: string) {
    return this.#call(this.#client.revokeCredential, { clusterId });
  }

  /** Admin: every credential's generation, expiry and state. */
  listCredentials() {
    return this.#call(this.#client.listCredentials, {});
  }

  /**
   * Opens a raw watch stream of `kinds` from `fromRevision`; errors arrive converted through
   * onError exactly once; `onOpen` once the broker has established the stream (it sends its headers then).
   */
  watch(kinds: readonly Kind[], fromRevision: number, onEvent: (e: WatchEvent) => void, onError: (e: Error) => void, onOpen?: () => void): () => void {
    const stream: ClientReadableStream<WatchEvent> = this.#client.watch({ kinds: [...kinds], fromRevision }, this.#md());
    let done = false;
    const fail = (e: Error) => {
      if (done) return;
      done = true;
      onError(e);
    };
    stream.on("metadata", () => onOpen?.());
    stream.on("data", onEvent);
    stream.on("error", (e: ServiceError) => fail(fromServiceError(e)));
    stream.on("end", () => fail(fromServiceError(Object.assign(new Error("watch stream ended"), { code: 14, details: "watch stream ended" }))));
    return () => {
      done = true;
      stream.cancel();
    };
  }

  close(): void {
    this.#client.close();
  }
}

export type { WireRecord };

/** A component's connection in standalone mode: the site file's broker, its token file (re-read when rotated), its CA (TLS). */
export function siteBrokerConnection(broker: { readonly address: string; readonly tokenFile: string; readonly caFile?: string | undefined }): BrokerConnection {
  return new BrokerConnection({
    address: broker.address,
    token: tokenFromFile(broker.tokenFile),
    ...(broker.caFile ? { ca: readFileSync(broker.caFile, "utf8") } : {}),
  });
}

/** A component's connection in Kubernetes mode: the joined cluster's broker, credential and CA (from causeway-broker-credentials). */
export function joinedBrokerConnection(c: { readonly brokerAddress: string; readonly brokerToken: string; readonly brokerCa?: string }): BrokerConnection {
  return new BrokerConnection({ address: c.brokerAddress, token: c.brokerToken, ...(c.brokerCa ? { ca: c.brokerCa } : {}) });
}
