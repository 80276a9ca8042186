import { randomBytes } from "node:crypto";
import { createSocket, type RemoteInfo, type Socket } from "node:dgram";
import { type Endpoint, errorMessage, type NatDiscoveryRequest, type NatDiscoveryResponse, NatResponseType, remoteKey } from "@causeway/api";
import type { Logger, view } from "@causeway/common";
import { answerRequest, decodeMessage, encodeRequest, encodeResponse, NAT_DISCOVERY_PORT } from "./protocol.ts";

/** How a remote gateway is reached: the address the cable uses and whether NAT sits between. */
export interface NatDecision {
  readonly usingIP: string;
  readonly useNAT: boolean;
  /**
   * private/public: answered on that address; fallback: no answer in time (or discovery off),
   * configuration decided; kept: the address this gateway's cable already used when it (re)started.
   */
  readonly how: "private" | "public" | "fallback" | "kept";
}

export interface NatCounters {
  requestsSent: number;
  requestsReceived: number;
  responsesReceived: number;
  /** Datagrams that are not NAT discovery messages. */
  malformed: number;
  /** Responses from an address other than the one asked. */
  wrongSource: number;
  /** Responses to no request of ours, or from another endpoint than the one asked. */
  unexpected: number;
  /** Responses refusing our request (UNKNOWN_DST_*, MALFORMED). */
  refused: number;
  sendErrors: number;
}

export interface NatDiscoveryOptions {
  /** Local UDP port (backend_config natt-discovery-port); 0 turns discovery off (fallback decisions only). */
  readonly port?: number;
  readonly bindAddress?: string;
  readonly log: Logger;
  /** The local source address towards a destination (a route lookup). */
  readonly sourceFor: (dst: string) => Promise<string | undefined>;
  readonly timeoutMs?: number;
  /** Timeout for remotes behind a load balancer (backend_config using-loadbalancer=true). */
  readonly loadBalancerTimeoutMs?: number;
  readonly resendMs?: number;
  readonly tickMs?: number;
  readonly now?: () => number;
}

/** A private answer may still replace a public one selected less than this long ago (private is preferred). */
const PRIVATE_GRACE_MS = 1000;
/** A port still held (by a socket closing) is tried this many times, this far apart. */
const BIND_ATTEMPTS = 20;
const BIND_RETRY_MS = 100;

/** Pure: the configuration's answer when discovery cannot decide (reference §4.5 legacy fallback). */
export function fallbackDecision(remote: Endpoint): NatDecision {
  const viaPublic = remote.public_ip !== "" && (remote.backend_config["using-loadbalancer"] === "true" || remote.nat_enabled);
  return viaPublic ? { usingIP: remote.public_ip, useNAT: true, how: "fallback" } : { usingIP: remote.private_ip, useNAT: false, how: "fallback" };
}

/** The remote's discovery port from its backend config; 0 when it publishes none or an invalid one. */
export function discoveryPortOf(ep: Endpoint): number {
  const raw = ep.backend_config["natt-discovery-port"];
  const n = Number(raw);
  return raw !== undefined && Number.isInteger(n) && n > 0 && n < 65536 ? n : 0;
}

interface Remote {
  endpoint: Endpoint;
  fingerprint: string;
  startedAt: number;
  lastSentAt: number;
  /** The remote had a decided endpoint before this discovery began: meanwhile the configuration decides (a failover must not wait). */
  replaced: boolean;
  /** Requests sent since the last restart: the first ones go out quickly (a gateway that just took over may not be listening yet). */
  sent: number;
  decision?: NatDecision & { at: number };
}

interface Pending {
  /** The remote's key (api remoteKey). */
  readonly key: string;
  readonly kind: "private" | "public";
  readonly ip: string;
  readonly sentAt: number;
}

const fingerprintOf = (ep: Endpoint) =>
  [ep.cable_name, ep.private_ip, ep.public_ip, ep.nat_enabled, discoveryPortOf(ep), ep.backend_config["using-loadbalancer"] ?? ""].join("|");

/**
 * NAT discovery (reference §4.5): answers other gateways' requests on UDP 4490 and, for each
 * remote gateway, asks on its private and public addresses which one reaches it and whether NAT
 * is in between. Private is preferred; no answer within the timeout falls back to configuration.
 * A Source: onChange fires when a decision is made or changes. Bad datagrams are counted, never thrown.
 */
export class NatDiscovery implements view.Source {
  readonly synced = Promise.resolve();
  readonly counters: NatCounters = {
    requestsSent: 0,
    requestsReceived: 0,
    responsesReceived: 0,
    malformed: 0,
    wrongSource: 0,
    unexpected: 0,
    refused: 0,
    sendErrors: 0,
  };
  readonly #o: NatDiscoveryOptions;
  readonly #remotes = new Map<string, Remote>();
  readonly #pending = new Map<bigint, Pending>();
  #local: Endpoint | undefined;
  #socket: Socket | undefined;
  #tick: NodeJS.Timeout | undefined;
  #onChange: () => void = () => {};
  #nextRequest = randomBytes(8).readBigUInt64BE();
  #boundPort = 0;
  #off = false;
  #listening: Promise<void> | undefined;
  /** Bumped by stop(): a bind that completes after it closes its socket. */
  #generation = 0;

  constructor(o: NatDiscoveryOptions) {
    this.#o = o;
  }

  /** The configured port (0: off). */
  get port(): number {
    return this.#o.port ?? NAT_DISCOVERY_PORT;
  }

  /** The port actually bound (0 until bound, or when discovery is off). */
  get boundPort(): number {
    return this.#boundPort;
  }

  #now(): number {
    return (this.#o.now ?? Date.now)();
  }

  /** Binds the socket once (rejects if the port is taken). */
  listen(): Promise<void> {
    this.#listening ??= this.#bind();
    return this.#listening;
  }

  /**
   * Binds the port. Taken (EADDRINUSE), it tries again for a while: the engine before this one (a
   * leader that paused and leads again) may still be closing its socket. Stopped meanwhile, the
   * socket is closed at once: a socket bound after stop() would hold the port for good.
   */
  async #bind(): Promise<void> {
    if (this.port === 0) return;
    const generation = this.#generation;
    for (let attempt = 1; ; attempt++) {
      const s = createSocket({ type: "udp4", reuseAddr: false });
      s.on("message", (msg, rinfo) => this.#receive(msg, rinfo));
      try {
        await new Promise<void>((resolve, reject) => {
          s.once("error", (err) => {
            s.close();
            reject(err);
          });
          s.bind(this.port, this.#o.bindAddress ?? "0.0.0.0", () => {
            s.removeAllListeners("error");
            s.on("error", (err) => this.#o.log.warn({ err: errorMessage(err) }, "NAT discovery socket error"));
            resolve();
          });
        });
      } catch (err) {
        const inUse = (err as NodeJS.ErrnoException).code === "EADDRINUSE";
        if (!inUse || attempt >= BIND_ATTEMPTS || generation !== this.#generation) throw err;
        await new Promise((r) => setTimeout(r, BIND_RETRY_MS));
        continue;
      }
      if (generation !== this.#generation) {
        s.close();
        return;
      }
      this.#socket = s;
      this.#boundPort = s.address().port;
      return;
    }
  }

  /** Binds the port and starts the check loop. A port that cannot be bound leaves every decision to configuration (logged). */
  start(onChange: () => void): void {
    this.#onChange = onChange;
    if (this.#tick) return;
    this.#tick = setInterval(() => void this.#check(), this.#o.tickMs ?? 250);
    this.listen()
      // Bound: ask at once whatever was tracked meanwhile.
      .then(() => void this.#check())
      .catch((err: unknown) => {
        this.#o.log.error(
          { port: this.port, err: errorMessage(err) },
          "NAT discovery cannot listen; using configured addresses (remote gateways fall back after their timeout)",
        );
        this.#off = true;
        for (const r of this.#remotes.values()) this.#restart(r, r.endpoint);
      });
  }

  stop(): void {
    this.#generation++;
    if (this.#tick) clearInterval(this.#tick);
    this.#tick = undefined;
    this.#socket?.close();
    this.#socket = undefined;
    this.#listening = undefined;
  }

  /** Sets this gateway's endpoint (what requests carry and answers are checked against); a change restarts every discovery. */
  setLocal(ep: Endpoint): void {
    if (this.#local && fingerprintOf(this.#local) === fingerprintOf(ep) && this.#local.cluster_id === ep.cluster_id) {
      this.#local = ep;
      return;
    }
    this.#local = ep;
    for (const r of this.#remotes.values()) this.#restart(r, r.endpoint);
  }

  /**
   * Follows the set of remote endpoints: new or readdressed ones start discovery, gone ones are
   * forgotten. `takingOver`: this gateway takes over from another of its cluster — traffic is
   * waiting, so remotes it meets for the first time use the configured address while discovery
   * asks (as readdressed remotes do), instead of carrying no cable until the answer.
   */
  track(remotes: readonly Endpoint[], takingOver = false): void {
    const ids = new Set(remotes.map(remoteKey));
    for (const id of this.#remotes.keys()) if (!ids.has(id)) this.#remotes.delete(id);
    for (const ep of remotes) {
      const r = this.#remotes.get(remoteKey(ep));
      if (!r) {
        const fresh: Remote = { endpoint: ep, fingerprint: "", startedAt: 0, lastSentAt: 0, sent: 0, replaced: takingOver };
        this.#remotes.set(remoteKey(ep), fresh);
        this.#restart(fresh, ep);
      } else if (r.fingerprint !== fingerprintOf(ep)) {
        this.#restart(r, ep);
      } else {
        r.endpoint = ep;
      }
    }
    for (const [n, p] of this.#pending) if (!this.#remotes.has(p.key)) this.#pending.delete(n);
    void this.#check();
  }

  /**
   * The decision for a remote gateway, by its key (api remoteKey: its cluster id in active-passive
   * mode, its cable name in active-active mode); undefined while discovery of a new remote is still asking.
   * While a remote that had a decision is rediscovered (its gateway failed over, or ours changed),
   * the configuration's answer stands in, so cables move to the new endpoint at once.
   */
  decision(key: string): NatDecision | undefined {
    const r = this.#remotes.get(key);
    const d = r?.decision;
    if (!d) return r?.replaced ? fallbackDecision(r.endpoint) : undefined;
    return { usingIP: d.usingIP, useNAT: d.useNAT, how: d.how };
  }

  /**
   * Takes the address a cable already uses as the decision for a remote that has none yet (a
   * restarted gateway): its cable stays as it is instead of waiting for discovery. False when the
   * remote is unknown or decided.
   */
  adopt(key: string, installed: ReadonlySet<string>): boolean {
    const r = this.#remotes.get(key);
    if (!r || r.decision) return false;
    const ip = [r.endpoint.private_ip, r.endpoint.public_ip].find((x) => x && installed.has(x));
    if (!ip) return false;
    r.decision = { usingIP: ip, useNAT: ip !== r.endpoint.private_ip, how: "kept", at: this.#now() };
    this.#o.log.info(
      { remoteCluster: r.endpoint.cluster_id, remote: r.endpoint.cable_name, usingIP: ip },
      "kept the address this gateway's cable already used",
    );
    return true;
  }

  #restart(r: Remote, ep: Endpoint): void {
    r.endpoint = ep;
    r.fingerprint = fingerprintOf(ep);
    r.startedAt = this.#now();
    r.lastSentAt = 0;
    r.sent = 0;
    r.replaced ||= r.decision !== undefined;
    delete r.decision;
    if (this.port === 0 || this.#off || discoveryPortOf(ep) === 0) this.#decide(r, fallbackDecision(ep));
  }

  #decide(r: Remote, d: NatDecision): void {
    const prev = r.decision;
    r.decision = { ...d, at: this.#now() };
    if (!prev || prev.usingIP !== d.usingIP || prev.useNAT !== d.useNAT) {
      this.#o.log.info({ remoteCluster: r.endpoint.cluster_id, usingIP: d.usingIP, usingNAT: d.useNAT, how: d.how }, "NAT discovery decided");
      this.#onChange();
    }
  }

  /** One pass of the check loop: resend due requests, time out silent remotes. */
  async #check(): Promise<void> {
    const now = this.#now();
    const resend = this.#o.resendMs ?? 2000;
    // Not bound yet (or no endpoint of our own): nothing could be sent, so no request is counted as asked.
    const ready = this.#socket !== undefined && this.#local !== undefined;
    for (const r of this.#remotes.values()) {
      if (r.decision) continue;
      if (now - r.startedAt >= this.#timeoutFor(r)) {
        this.#o.log.warn({ remoteCluster: r.endpoint.cluster_id, afterMs: now - r.startedAt }, "NAT discovery got no answer; using the configured address");
        this.#decide(r, fallbackDecision(r.endpoint));
        continue;
      }
      // 250 ms, 500 ms, 1 s, then every resend period (2 s).
      if (!ready) continue;
      if (r.lastSentAt !== 0 && now - r.lastSentAt < Math.min(resend, 250 * 2 ** (r.sent - 1))) continue;
      r.lastSentAt = now;
      r.sent++;
      await this.#ask(r, "private", r.endpoint.private_ip);
      if (r.endpoint.public_ip && r.endpoint.public_ip !== r.endpoint.private_ip) await this.#ask(r, "public", r.endpoint.public_ip);
    }
    for (const [n, p] of this.#pending) if (now - p.sentAt > 120_000) this.#pending.delete(n);
  }

  /** How long a remote is asked before configuration decides (shorter behind a load balancer). */
  #timeoutFor(r: Remote): number {
    const lb = r.endpoint.backend_config["using-loadbalancer"] === "true";
    return lb ? (this.#o.loadBalancerTimeoutMs ?? 6000) : (this.#o.timeoutMs ?? 60_000);
  }

  async #ask(r: Remote, kind: "private" | "public", ip: string): Promise<void> {
    const local = this.#local;
    const s = this.#socket;
    if (!local || !s) return;
    const port = discoveryPortOf(r.endpoint);
    const number = this.#nextRequest;
    this.#nextRequest = BigInt.asUintN(64, number + 1n);
    const src = (await this.#o.sourceFor(ip).catch(() => undefined)) ?? local.private_ip;
    const buf = encodeRequest({
      requestNumber: number,
      sender: { clusterId: local.cluster_id, endpointId: local.cable_name },
      receiver: { clusterId: r.endpoint.cluster_id, endpointId: r.endpoint.cable_name },
      usingSrc: { IP: src, port: this.#boundPort },
      usingDst: { IP: ip, port },
    });
    // Stopped while the source was looked up: the socket is closed (sending would throw).
    if (this.#socket !== s) return;
    this.#pending.set(number, { key: remoteKey(r.endpoint), kind, ip, sentAt: this.#now() });
    s.send(buf, port, ip, (err) => {
      if (err) {
        this.counters.sendErrors++;
        this.#o.log.debug({ remoteCluster: r.endpoint.cluster_id, ip, err: errorMessage(err) }, "NAT discovery request not sent");
      } else this.counters.requestsSent++;
    });
  }

  #receive(msg: Buffer, rinfo: RemoteInfo): void {
    const m = decodeMessage(msg);
    if (!m?.message) this.counters.malformed++;
    else if (m.message.$case === "request") this.#answer(m.message.value, rinfo);
    else this.#onResponse(m.message.value, rinfo);
  }

  #answer(req: NatDiscoveryRequest, rinfo: RemoteInfo): void {
    this.counters.requestsReceived++;
    const local = this.#local;
    if (!local) return; // not ready to answer: the asker retries
    const answer = answerRequest(local, req, { address: rinfo.address, port: rinfo.port });
    this.#socket?.send(encodeResponse(answer), rinfo.port, rinfo.address, (err) => {
      if (err) this.counters.sendErrors++;
    });
  }

  /** The pending request a response answers, when it comes from the address asked and the endpoint meant. */
  #matching(res: NatDiscoveryResponse, rinfo: RemoteInfo): { p: Pending; r: Remote } | undefined {
    const p = this.#pending.get(res.requestNumber);
    const r = p && this.#remotes.get(p.key);
    if (!p || !r) {
      this.counters.unexpected++;
      return undefined;
    }
    if (rinfo.address !== p.ip) {
      this.counters.wrongSource++;
      this.#o.log.debug({ remote: p.key, asked: p.ip, answeredFrom: rinfo.address }, "NAT discovery answer from another address ignored");
      return undefined;
    }
    if (res.sender?.clusterId !== r.endpoint.cluster_id || res.sender.endpointId !== r.endpoint.cable_name) {
      this.counters.unexpected++;
      return undefined;
    }
    return { p, r };
  }

  #onResponse(res: NatDiscoveryResponse, rinfo: RemoteInfo): void {
    this.counters.responsesReceived++;
    const hit = this.#matching(res, rinfo);
    if (!hit) return;
    const { p, r } = hit;
    if (res.response !== NatResponseType.OK && res.response !== NatResponseType.NAT_DETECTED) {
      this.counters.refused++;
      this.#o.log.debug({ remote: p.key, response: res.response }, "NAT discovery request refused");
      return;
    }
    this.#pending.delete(res.requestNumber);
    const useNAT = res.response === NatResponseType.NAT_DETECTED;
    const d = r.decision;
    if (p.kind === "private") {
      // Private is preferred: it replaces a public answer that arrived just before it.
      if (!d || (d.how === "public" && this.#now() - d.at <= PRIVATE_GRACE_MS)) this.#decide(r, { usingIP: p.ip, useNAT, how: "private" });
    } else if (!d) {
      this.#decide(r, { usingIP: p.ip, useNAT, how: "public" });
    }
  }
}
