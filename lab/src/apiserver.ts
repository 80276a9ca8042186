import { execFileSync } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import https from "node:https";
import { join } from "node:path";
import { type CommandRunner, kube } from "@causeway/common";
import { stringify as toYaml } from "yaml";
import { alive, type LabProcess, startIn, stopProcess } from "./processes.ts";
import { until } from "./until.ts";
import { REPO_ROOT as REPO } from "./paths.ts";
import { LabError } from "./errors.ts";
import { firstServiceIp } from "./topology.ts";

export const KUBE_VERSION = "v1.34.4"; // one release for every Kubernetes binary (lab/kube/build.sh says why 1.34)
const FORWARD = join(REPO, "lab/src/tools/forward.ts");

/** The cached kube-apiserver binary, built on first use with the other Kubernetes binaries by lab/kube/build.sh (minutes, once), which prints their directory. */
export function kubeApiServerBinary(): string {
  const dir = execFileSync("bash", [join(REPO, "lab/kube/build.sh")], {
    encoding: "utf8",
    env: { ...process.env, KUBE_VERSION },
    stdio: ["ignore", "pipe", "inherit"],
  });
  return join(dir.trim(), "kube-apiserver");
}

export interface ApiServerOptions {
  /** Network namespace both etcd and the API server run in (must exist, loopback up). */
  readonly ns: string;
  /** State directory (certificates, etcd data, logs, kubeconfigs). */
  readonly dir: string;
  /** etcd's data directory, when not `dir`/etcd (a lab's: in memory, paths.ts LAB_MEMORY_ROOT). */
  readonly etcdDir?: string;
  /** Addresses the API server is reached at (in its certificate); the first is advertised. */
  readonly ips: readonly string[];
  /** The cluster's service CIDR (the API server allocates ClusterIPs from it). */
  readonly serviceCidr: string;
  /** Users with static tokens beyond the admin: name → groups. */
  readonly users?: Readonly<Record<string, readonly string[]>>;
  readonly port?: number;
}

/** Identities the harness knows a token for. */
export interface ApiUser {
  readonly name: string;
  readonly token: string;
}

/**
 * One real API server: etcd (Debian's etcd-server) and kube-apiserver (built from the official
 * modules) inside a network namespace, with a self-signed serving certificate for its lab
 * addresses, static tokens (admin in system:masters, plus named users for RBAC tests),
 * service-account token signing (TokenRequest works) and RBAC authorization. A forwarder
 * exposes it on a Unix socket so that tests in the host namespace reach it without any
 * address being added to the host.
 */
export class ApiServer {
  readonly o: ApiServerOptions;
  readonly port: number;
  readonly socket: string;
  readonly ca: string;
  readonly users: ReadonlyMap<string, ApiUser>;
  #etcd: LabProcess | undefined;
  #api: LabProcess | undefined;
  #fwd: LabProcess | undefined;

  constructor(o: ApiServerOptions) {
    this.o = o;
    this.port = o.port ?? 6443;
    this.socket = join(o.dir, "api.sock");
    mkdirSync(o.dir, { recursive: true });
    const crt = join(o.dir, "serving.crt");
    if (!existsSync(crt)) this.#makeCertificates();
    this.ca = readFileSync(crt, "utf8");
    // Tokens persist in the directory: a second ApiServer object for the same server (the lab reopened) knows them.
    const tokensFile = join(o.dir, "tokens.csv");
    const known = new Map(
      existsSync(tokensFile)
        ? readFileSync(tokensFile, "utf8")
            .split("\n")
            .filter(Boolean)
            .map((l) => l.split(","))
            .map(([t = "", n = ""]) => [n, t])
        : [],
    );
    const token = (n: string) => known.get(n) ?? randomBytes(16).toString("hex");
    const users = new Map<string, ApiUser>([["admin", { name: "causeway-admin", token: token("causeway-admin") }]]);
    for (const name of Object.keys(o.users ?? {})) users.set(name, { name, token: token(name) });
    this.users = users;
    const lines = [...users].map(([k, u]) => `${u.token},${u.name},${u.name},"${k === "admin" ? "system:masters" : (o.users?.[k] ?? []).join(",")}"`);
    writeFileSync(join(o.dir, "tokens.csv"), `${lines.join("\n")}\n`, { mode: 0o600 });
  }

  get url(): string {
    return `https://${this.o.ips[0]}:${this.port}`;
  }

  #makeCertificates(): void {
    const san = [...this.o.ips, "127.0.0.1", firstServiceIp(this.o.serviceCidr) /* pods: the kubernetes Service */].map((ip) => `IP:${ip}`).join(",");
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-days",
        "30",
        "-subj",
        "/CN=causeway-lab-apiserver",
        "-addext",
        `subjectAltName=${san},DNS:kubernetes.default.svc`,
        "-keyout",
        join(this.o.dir, "serving.key"),
        "-out",
        join(this.o.dir, "serving.crt"),
      ],
      { stdio: "ignore" },
    );
    const sa = generateKeyPairSync("ec", {
      namedCurve: "prime256v1",
      publicKeyEncoding: { type: "spki", format: "pem" },
      privateKeyEncoding: { type: "pkcs8", format: "pem" },
    });
    writeFileSync(join(this.o.dir, "sa.pub"), sa.publicKey);
    writeFileSync(join(this.o.dir, "sa.key"), sa.privateKey, { mode: 0o600 });
  }

  /** Starts etcd, then the API server, then the socket forwarder; resolves once /readyz answers. */
  async start(binary: string): Promise<void> {
    const d = this.o.dir;
    if (!this.#etcd || !alive(this.#etcd.pid)) {
      this.#etcd = startIn(
        this.o.ns,
        "etcd",
        [
          "etcd",
          "--name",
          "lab",
          "--data-dir",
          this.o.etcdDir ?? join(d, "etcd"),
          "--listen-client-urls",
          "http://127.0.0.1:2379",
          "--advertise-client-urls",
          "http://127.0.0.1:2379",
          "--listen-peer-urls",
          "http://127.0.0.1:2380",
          "--initial-advertise-peer-urls",
          "http://127.0.0.1:2380",
          "--initial-cluster",
          "lab=http://127.0.0.1:2380",
          "--log-level",
          "warn",
        ],
        join(d, "etcd.log"),
      );
    }
    if (!this.#fwd || !alive(this.#fwd.pid)) {
      rmSync(this.socket, { force: true });
      this.#fwd = startIn(this.o.ns, "forward", [process.execPath, FORWARD, this.socket, `127.0.0.1:${this.port}`], join(d, "forward.log"));
      await until("API server socket forwarder", async () => (existsSync(this.socket) ? true : undefined), 10_000);
    }
    await this.startApiServer(binary);
  }

  /** (Re)starts only kube-apiserver (etcd keeps its data) and waits until it is ready. */
  async startApiServer(binary: string): Promise<void> {
    const d = this.o.dir;
    this.#api = startIn(
      this.o.ns,
      "kube-apiserver",
      [
        binary,
        "--etcd-servers=http://127.0.0.1:2379",
        `--secure-port=${this.port}`,
        "--bind-address=0.0.0.0",
        `--advertise-address=${this.o.ips[0]}`,
        `--tls-cert-file=${join(d, "serving.crt")}`,
        `--tls-private-key-file=${join(d, "serving.key")}`,
        `--cert-dir=${join(d, "certs")}`,
        `--token-auth-file=${join(d, "tokens.csv")}`,
        "--authorization-mode=RBAC",
        "--service-account-issuer=https://kubernetes.default.svc",
        `--service-account-key-file=${join(d, "sa.pub")}`,
        `--service-account-signing-key-file=${join(d, "sa.key")}`,
        "--api-audiences=https://kubernetes.default.svc",
        `--service-cluster-ip-range=${this.o.serviceCidr}`,
        "--allow-privileged=true",
        "--enable-priority-and-fairness=false",
        "--profiling=false",
        "--v=1",
      ],
      join(d, "kube-apiserver.log"),
    );
    const pid = this.#api.pid;
    const end = Date.now() + 120_000;
    while ((await this.readyz()) !== "ok") {
      if (!alive(pid)) throw new LabError(`kube-apiserver exited; see ${join(d, "kube-apiserver.log")}`);
      if (Date.now() > end) throw new LabError(`kube-apiserver in ${this.o.ns} not ready within 120 s; see ${join(d, "kube-apiserver.log")}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** Asks /readyz through the socket; "ok" when ready. */
  readyz(): Promise<string> {
    return new Promise((res) => {
      const req = https.request(
        {
          socketPath: this.socket,
          path: "/readyz",
          host: this.o.ips[0],
          ca: this.ca,
          headers: { Authorization: `Bearer ${this.token("admin")}` },
          timeout: 2000,
        },
        (r) => {
          let body = "";
          r.setEncoding("utf8");
          r.on("data", (c: string) => (body += c));
          r.on("end", () => res(r.statusCode === 200 ? body.trim() : ""));
        },
      );
      req.on("timeout", () => req.destroy());
      req.on("error", () => res(""));
      req.end();
    });
  }

  /** Stops kube-apiserver only (SIGTERM): etcd and the forwarder stay. Finds it in its namespace when another object started it. */
  async stopApiServer(): Promise<void> {
    const pids = this.#api ? [this.#api.pid] : apiServerPids(this.o.ns);
    for (const pid of pids) await stopProcess(pid, 10_000);
    this.#api = undefined;
  }

  async stop(): Promise<void> {
    for (const p of [this.#fwd, this.#api, this.#etcd]) if (p) await stopProcess(p.pid, 5000);
    this.#fwd = this.#api = this.#etcd = undefined;
  }

  token(user: string): string {
    const u = this.users.get(user);
    if (!u) throw new LabError(`no such API user ${user}`);
    return u.token;
  }

  /**
   * Writes a kubeconfig for `user` (or a token) at `path`: server = `server` (default: the first
   * address), the serving certificate as CA, and the harness socket as an extension unless
   * `socket` is false (for processes inside the lab, which use the network).
   */
  writeKubeconfig(path: string, o: { context: string; user?: string; token?: string; server?: string; socket?: boolean }): string {
    return writeKubeconfig(path, {
      context: o.context,
      user: `${o.context}-${o.user ?? "token"}`,
      token: o.token ?? this.token(o.user ?? "admin"),
      server: o.server ?? this.url,
      ca: this.ca,
      socket: o.socket === false ? undefined : this.socket,
    });
  }
}

/** Writes a one-context token kubeconfig (mode 0600); `socket` adds the lab socket extension. Returns the path. */
export function writeKubeconfig(path: string, o: { context: string; user: string; token: string; server: string; ca: string; socket?: string }): string {
  const cluster: Record<string, unknown> = { server: o.server, "certificate-authority-data": Buffer.from(o.ca).toString("base64") };
  if (o.socket) cluster.extensions = [{ name: kube.SOCKET_EXTENSION, extension: { path: o.socket } }];
  const doc = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: o.context, cluster }],
    users: [{ name: o.user, user: { token: o.token } }],
    contexts: [{ name: o.context, context: { cluster: o.context, user: o.user } }],
    "current-context": o.context,
  };
  writeFileSync(path, toYaml(doc), { mode: 0o600 });
  return path;
}

/** kube-apiserver processes whose network namespace is `ns`. */
function apiServerPids(ns: string): number[] {
  const out = execFileSync("ip", ["netns", "pids", ns], { encoding: "utf8" });
  return out
    .split(/\s+/)
    .filter(Boolean)
    .map(Number)
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0]?.endsWith("kube-apiserver") ?? false;
      } catch {
        return false;
      }
    });
}

/** Creates a namespace with loopback up (for a standalone API server outside any lab). */
export async function makeNamespace(run: CommandRunner, ns: string): Promise<void> {
  await run.run("ip", ["netns", "add", ns]);
  await run.run("ip", ["-n", ns, "link", "set", "lo", "up"]);
}
