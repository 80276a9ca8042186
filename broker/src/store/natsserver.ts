/**
 * nats-server (Debian's package) run for tests and the lab: a configuration file per server,
 * JetStream on disk, optionally clustered, with user/password and TLS when given. Started with
 * a command prefix (e.g. `ip netns exec <ns>`) so that it listens only where it is put.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BrokerStartError } from "../errors.ts";

export interface NatsServerSpec {
  /** Unique in its cluster (server_name). */
  readonly name: string;
  readonly host: string;
  readonly port: number;
  /** Data and logs go under dir/<name>. */
  readonly dir: string;
  /** Clustering: this server's route port and every member's host:routePort (itself included is fine). */
  readonly cluster?: { readonly name: string; readonly routePort: number; readonly routes: readonly string[] };
  readonly auth?: { readonly user: string; readonly password: string };
  readonly tls?: { readonly certFile: string; readonly keyFile: string; readonly caFile: string };
  /** Prepended to the command (`ip netns exec <ns>`). */
  readonly prefix?: readonly string[];
}

/** Pure: the server's configuration file. */
export function natsServerConfig(s: NatsServerSpec): string {
  const q = (v: string) => JSON.stringify(v);
  const lines = [
    `server_name: ${q(s.name)}`,
    `listen: ${q(`${s.host}:${s.port}`)}`,
    `jetstream { store_dir: ${q(join(s.dir, s.name, "jetstream"))}, max_memory_store: 268435456, max_file_store: 4294967296 }`,
    // Bigger than any record the broker accepts, so the broker's own limit is the one that answers.
    "max_payload: 4194304",
  ];
  if (s.auth) lines.push(`authorization { user: ${q(s.auth.user)}, password: ${q(s.auth.password)} }`);
  if (s.tls) lines.push(`tls { cert_file: ${q(s.tls.certFile)}, key_file: ${q(s.tls.keyFile)}, ca_file: ${q(s.tls.caFile)}, timeout: 5 }`);
  if (s.cluster) {
    const routeAuth = s.auth ? `authorization { user: ${q(s.auth.user)}, password: ${q(s.auth.password)} }, ` : "";
    const creds = s.auth ? `${encodeURIComponent(s.auth.user)}:${encodeURIComponent(s.auth.password)}@` : "";
    const routes = s.cluster.routes.map((r) => q(`nats-route://${creds}${r}`)).join(", ");
    const routeTls = s.tls ? `tls { cert_file: ${q(s.tls.certFile)}, key_file: ${q(s.tls.keyFile)}, ca_file: ${q(s.tls.caFile)}, timeout: 5 }, ` : "";
    lines.push(`cluster { name: ${q(s.cluster.name)}, listen: ${q(`${s.host}:${s.cluster.routePort}`)}, ${routeAuth}${routeTls}routes: [${routes}] }`);
  }
  return `${lines.join("\n")}\n`;
}

/** Starts nats-server with the spec's configuration; resolves once it accepts connections (or rejects with its log). */
export async function startNatsServer(s: NatsServerSpec, o: { readonly timeoutMs?: number; readonly detached?: boolean } = {}): Promise<ChildProcess> {
  if (!existsSync("/usr/sbin/nats-server") && !existsSync("/usr/bin/nats-server")) {
    throw new BrokerStartError("nats-server is not installed: apt-get install --no-install-recommends nats-server (bash scripts/setup.sh does)");
  }
  const home = join(s.dir, s.name);
  mkdirSync(home, { recursive: true });
  const conf = join(home, "nats.conf");
  writeFileSync(conf, natsServerConfig(s), { mode: 0o600 });
  const log = openSync(join(home, "nats.log"), "a");
  const argv = [...(s.prefix ?? []), "nats-server", "-c", conf];
  // Detached: it outlives this process (the lab's servers run until 'lab down').
  const child = spawn(argv[0] ?? "nats-server", argv.slice(1), { stdio: ["ignore", log, log], detached: o.detached ?? false });
  if (o.detached) child.unref();
  const end = Date.now() + (o.timeoutMs ?? 15_000);
  const { readFileSync } = await import("node:fs");
  for (;;) {
    const text = readFileSync(join(home, "nats.log"), "utf8");
    if (/Server is ready/.test(text)) {
      closeSync(log);
      return child;
    }
    if (child.exitCode !== null || Date.now() > end) {
      child.kill("SIGKILL");
      closeSync(log);
      throw new BrokerStartError(`nats-server ${s.name} did not start: ${text.split("\n").slice(-8).join("\n")}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
