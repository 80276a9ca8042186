/**
 * `causeway dashboard`'s server (issue 24): a read-only page and its data. The data follows a
 * feed (the broker's watch, or the clusters' API watches) and reaches open pages as Server-Sent
 * Events: the whole state when a page connects, then each change with the events it makes. The
 * page shell and its script carry no data; the data needs the token when one is set (always, on
 * an address other than loopback). Nothing served holds a credential.
 */
import { timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { isIP } from "node:net";
import { ValidationError } from "@causeway/api";
import { changes, type DashboardState, type DashEvent, dashboardState, type DashSource } from "./model.ts";

/** What the dashboard shows, kept current by its own watch. */
export interface DashFeed {
  /** Starts following; `onChange` after each change of the source or of the problem. */
  start(onChange: () => void): void;
  stop(): void;
  source(): DashSource;
  /** Why the target cannot be read now, when it cannot: the page keeps the last view, marked stale. */
  problem(): string | undefined;
  /** Whether the source holds the target's first full read (before it, the dashboard makes no events: nothing "joined" at start). */
  synced(): boolean;
}

/** The page: its HTML shell and its script (built once, served as they are). */
export interface DashPage {
  readonly html: string;
  readonly js: string;
  readonly css: string;
}

export interface DashboardOptions {
  /** `host:port` (`[v6]:port` for IPv6). */
  readonly listen: string;
  readonly token?: string;
  readonly feed: DashFeed;
  readonly page: DashPage;
  /** How often gateway statuses' ages are judged again without a change (default 5 s). */
  readonly recheckMs?: number;
  readonly now?: () => number;
}

/** What a page receives: the state, the events that led to it (newest last), and whether the target could not be read. */
export interface DashMessage {
  readonly state: DashboardState;
  readonly events: readonly TimedEvent[];
  /** Set while the target is unreachable: why, and since when (ms since the epoch); the state is the last one seen. */
  readonly stale?: { readonly problem: string; readonly sinceMs: number };
}
export type TimedEvent = DashEvent & { readonly atMs: number };

/** The events a page gets when it connects (the newest). */
export const EVENT_HISTORY = 500;

export class DashboardError extends ValidationError {
  override name = "DashboardError";
}

/** Pure: `host:port` split; refuses what is not an address and a port, naming the flag. */
export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(listen);
  const host = m?.[1] ?? m?.[2] ?? "";
  const port = Number(m?.[3]);
  if (!m || !(isIP(host) || host === "localhost") || port > 65535)
    throw new DashboardError(`--listen ${JSON.stringify(listen)}: give an address and a port, e.g. 127.0.0.1:8099 or [::1]:8099`);
  return { host, port };
}

/** Pure: whether `host` is a loopback address (only this machine can connect). */
export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || (isIP(host) === 4 && host.startsWith("127."));
}

const SECURITY_HEADERS = {
  "Content-Security-Policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "Cache-Control": "no-store",
} as const;

/** A running dashboard server. */
export class Dashboard {
  readonly #o: DashboardOptions;
  readonly #server: Server;
  readonly #clients = new Set<ServerResponse>();
  #state: DashboardState = { clusters: [], cables: [], services: [] };
  #events: TimedEvent[] = [];
  #stale: { problem: string; sinceMs: number } | undefined;
  #recheck: NodeJS.Timeout | undefined;
  #url = "";
  #synced = false;

  private constructor(o: DashboardOptions) {
    this.#o = o;
    this.#server = createServer((req, res) => this.#handle(req, res));
  }

  /** Listens on `o.listen` and starts the feed. Refuses an address other than loopback without a token, and a port in use, naming the flag. */
  static async start(o: DashboardOptions): Promise<Dashboard> {
    const { host, port } = parseListen(o.listen);
    if (!isLoopback(host) && !o.token)
      throw new DashboardError(`--listen ${o.listen} is reachable from other machines: give --token (the page asks for it), or listen on 127.0.0.1`);
    const d = new Dashboard(o);
    await new Promise<void>((resolve, reject) => {
      d.#server.once("error", (err: NodeJS.ErrnoException) =>
        reject(
          err.code === "EADDRINUSE"
            ? new DashboardError(`port ${port} is in use (--listen ${o.listen}): choose another with --listen`)
            : err.code === "EADDRNOTAVAIL"
              ? new DashboardError(`--listen ${o.listen}: ${host} is not an address of this machine`)
              : err,
        ),
      );
      d.#server.listen(port, host, () => resolve());
    });
    const addr = d.#server.address();
    const bound = typeof addr === "object" && addr ? addr.port : port;
    d.#url = `http://${host.includes(":") ? `[${host}]` : host}:${bound}/`;
    d.#refresh();
    o.feed.start(() => d.#refresh());
    d.#recheck = setInterval(() => d.#refresh(), o.recheckMs ?? 5000);
    return d;
  }

  get url(): string {
    return this.#url;
  }

  /** The message a page would get now. */
  message(): DashMessage {
    return { state: this.#state, events: this.#events, ...(this.#stale ? { stale: this.#stale } : {}) };
  }

  async close(): Promise<void> {
    clearInterval(this.#recheck);
    this.#o.feed.stop();
    for (const c of this.#clients) c.end();
    this.#clients.clear();
    this.#server.closeAllConnections();
    await new Promise<void>((r) => this.#server.close(() => r()));
  }

  #now(): number {
    return (this.#o.now ?? Date.now)();
  }

  /** Rebuilds the state from the feed; pushes what changed (the state and its events, or the stale mark) to every open page. */
  #refresh(): void {
    const now = this.#now();
    const problem = this.#o.feed.problem();
    const staleChanged = (problem ?? "") !== (this.#stale?.problem ?? "");
    if (problem) this.#stale = staleChanged ? { problem, sinceMs: now } : this.#stale;
    else this.#stale = undefined;
    // Unreachable: the last view stays as it was.
    const next = problem ? this.#state : dashboardState(this.#o.feed.source(), now);
    // The first full read is the baseline: what was there before the dashboard started made no event.
    const baseline = !this.#synced;
    this.#synced = this.#o.feed.synced();
    const fresh = baseline ? [] : changes(this.#state, next).map((e) => ({ ...e, atMs: now }));
    const moved = baseline && JSON.stringify(next) !== JSON.stringify(this.#state);
    this.#state = next;
    if (fresh.length) this.#events = [...this.#events, ...fresh].slice(-EVENT_HISTORY);
    if (!fresh.length && !staleChanged && !moved) return;
    const data = JSON.stringify({ state: this.#state, events: fresh, ...(this.#stale ? { stale: this.#stale } : {}) } satisfies DashMessage);
    for (const c of this.#clients) c.write(`event: change\ndata: ${data}\n\n`);
  }

  #authorized(req: IncomingMessage): boolean {
    const token = this.#o.token;
    if (!token) return true;
    const given = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1] ?? "";
    const [a, b] = [Buffer.from(given), Buffer.from(token)];
    return a.length === b.length && timingSafeEqual(a, b);
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? "/").split("?")[0];
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { ...SECURITY_HEADERS, "Content-Type": type });
      res.end(req.method === "HEAD" ? undefined : body);
    };
    if (req.method !== "GET" && req.method !== "HEAD") return send(405, "text/plain; charset=utf-8", "read-only: GET only\n");
    const { page } = this.#o;
    if (path === "/") return send(200, "text/html; charset=utf-8", page.html);
    if (path === "/app.js") return send(200, "text/javascript; charset=utf-8", page.js);
    if (path === "/app.css") return send(200, "text/css; charset=utf-8", page.css);
    if (path === "/api/state" || path === "/api/stream") {
      if (!this.#authorized(req)) return send(401, "text/plain; charset=utf-8", "this dashboard needs its token (--token): Authorization: Bearer <token>\n");
      if (path === "/api/state") return send(200, "application/json", JSON.stringify(this.message()));
      res.writeHead(200, { ...SECURITY_HEADERS, "Content-Type": "text/event-stream", Connection: "keep-alive" });
      res.write(`event: state\ndata: ${JSON.stringify(this.message())}\n\n`);
      this.#clients.add(res);
      req.on("close", () => this.#clients.delete(res));
      return;
    }
    send(404, "text/plain; charset=utf-8", "not found\n");
  }
}
