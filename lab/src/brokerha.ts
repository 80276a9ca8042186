/**
 * The lab's scale-out broker (`lab up --broker-backend nats --broker-replicas N`): a 3-node NATS
 * cluster with JetStream on the underlay (user/password and TLS; the bucket replicated 3 times) and N
 * broker replicas sharing its bucket, each on its own underlay address. Components get every
 * replica's address and use whichever answers.
 */
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { ValidationError } from "@causeway/api";
import type { CommandRunner } from "@causeway/common";
import { startNatsServer } from "@causeway/broker";
import { makeBrokerPki } from "@causeway/deploy";
import { addUnderlayHost } from "./build.ts";
import { type LabProcess, startIn, stopProcess } from "./processes.ts";
import { LAB } from "./topology.ts";

export const NATS_NODES = 3;
export const MAX_BROKER_REPLICAS = 3;
const NATS_PORT = 4222;
const NATS_ROUTE_PORT = 6222;
export const NATS_USER = "causeway";

export interface LabNatsNode {
  readonly name: string;
  readonly ns: string;
  readonly ip: string;
  pid?: number;
}

export interface LabBrokerReplica {
  readonly index: number;
  readonly ns: string;
  readonly ip: string;
  /** The admin socket (the host reaches the replica through it). */
  readonly socket: string;
  process?: LabProcess;
}

export interface LabBrokerHa {
  readonly nats: LabNatsNode[];
  /** Every replica, the first one in the lab's broker namespace. */
  readonly replicas: LabBrokerReplica[];
  readonly passwordFile: string;
  /** NATS's TLS: a CA and one certificate for the three nodes' addresses (clients and routes). */
  readonly tls: LabTlsFiles;
}

/** Pure: the NATS nodes and broker replicas of a lab (addresses 198.18.0.11-13 and 198.18.0.2-4). */
export function haPlan(lab: string, dir: string, replicas: number, brokerNs: string): LabBrokerHa {
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > MAX_BROKER_REPLICAS) {
    throw new ValidationError(`--broker-replicas must be 1..${MAX_BROKER_REPLICAS}, got ${replicas}`);
  }
  return {
    nats: Array.from({ length: NATS_NODES }, (_, i) => ({ name: `nats${i + 1}`, ns: `${lab}-nats${i + 1}`, ip: `198.18.0.${11 + i}` })),
    replicas: Array.from({ length: replicas }, (_, i) => ({
      index: i + 1,
      ns: i === 0 ? brokerNs : `${brokerNs}${i + 1}`,
      ip: i === 0 ? LAB.brokerIp : `198.18.0.${2 + i}`,
      socket: `unix://${join(dir, i === 0 ? "broker.sock" : `broker${i + 1}.sock`)}`,
    })),
    passwordFile: join(dir, "nats-password"),
    tls: { caFile: join(dir, "nats-ca.crt"), certFile: join(dir, "nats-tls.crt"), keyFile: join(dir, "nats-tls.key") },
  };
}

/** The address components dial: every replica's host:port. */
export function haAddress(ha: LabBrokerHa): string {
  return ha.replicas.map((r) => `${r.ip}:${LAB.brokerPort}`).join(",");
}

/** The NATS cluster's client URLs. */
export const haNatsUrls = (ha: LabBrokerHa): string[] => ha.nats.map((n) => `nats://${n.ip}:${NATS_PORT}`);
const natsUrls = (ha: LabBrokerHa) => haNatsUrls(ha).join(",");

/** Starts (or restarts) one NATS node; the cluster's other members are its routes. */
export async function startNatsNode(ha: LabBrokerHa, node: LabNatsNode, dir: string, password: string): Promise<void> {
  const child = await startNatsServer(
    {
      name: node.name,
      host: node.ip,
      port: NATS_PORT,
      dir: join(dir, "nats"),
      cluster: { name: "causeway", routePort: NATS_ROUTE_PORT, routes: ha.nats.filter((n) => n !== node).map((n) => `${n.ip}:${NATS_ROUTE_PORT}`) },
      auth: { user: NATS_USER, password },
      tls: ha.tls,
      prefix: ["ip", "netns", "exec", node.ns],
    },
    { detached: true },
  );
  node.pid = child.pid;
}

/** PEM files of the lab's TLS material. */
export interface LabTlsFiles {
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
}

/** Makes a CA and one certificate for `names` and writes them to `files` (the key 0600). */
export function writeLabPki(names: readonly string[], files: LabTlsFiles): LabTlsFiles {
  const pki = makeBrokerPki(names);
  writeFileSync(files.caFile, pki.caPem);
  writeFileSync(files.certFile, pki.certPem);
  writeFileSync(files.keyFile, pki.keyPem, { mode: 0o600 });
  return files;
}

/** Builds the NATS hosts and starts the cluster (each node waits for its routes only loosely: JetStream elects once a majority is up). */
export async function startNatsCluster(run: CommandRunner, lab: string, dir: string, ha: LabBrokerHa, mtu?: number): Promise<void> {
  const password = randomBytes(24).toString("base64url");
  writeFileSync(ha.passwordFile, `${password}\n`, { mode: 0o600 });
  // NATS with authentication and TLS, clients and routes alike.
  writeLabPki(
    ha.nats.map((n) => n.ip),
    ha.tls,
  );
  for (const n of ha.nats) await addUnderlayHost(run, lab, n.ns, n.ip, n.name, mtu);
  await Promise.all(ha.nats.map((n) => startNatsNode(ha, n, dir, password)));
}

/** Builds the replicas' hosts (the first one's exists) . */
export async function buildReplicaHosts(run: CommandRunner, lab: string, ha: LabBrokerHa, mtu?: number): Promise<void> {
  for (const r of ha.replicas.slice(1)) await addUnderlayHost(run, lab, r.ns, r.ip, `broker${r.index}`, mtu);
}

/** The argv of a broker replica on the shared bucket (3 stream replicas). */
export function replicaArgv(
  nodeBin: string,
  script: string,
  ha: LabBrokerHa,
  r: LabBrokerReplica,
  adminTokenFile: string,
  tls?: { readonly certFile: string; readonly keyFile: string },
): string[] {
  return [
    nodeBin,
    script,
    "--listen",
    `0.0.0.0:${LAB.brokerPort}`,
    "--listen",
    r.socket,
    "--backend",
    "nats",
    "--nats-servers",
    natsUrls(ha),
    "--nats-replicas",
    String(NATS_NODES),
    "--nats-user",
    NATS_USER,
    "--nats-password-file",
    ha.passwordFile,
    "--nats-ca",
    ha.tls.caFile,
    "--admin-token-file",
    adminTokenFile,
    ...(tls ? ["--tls-cert", tls.certFile, "--tls-key", tls.keyFile] : []),
  ];
}

/** Starts a replica's process. */
export function startReplica(
  nodeBin: string,
  script: string,
  ha: LabBrokerHa,
  r: LabBrokerReplica,
  adminTokenFile: string,
  dir: string,
  tls?: { readonly certFile: string; readonly keyFile: string },
  extra: readonly string[] = [],
): LabProcess {
  r.process = startIn(r.ns, `broker/${r.index}`, [...replicaArgv(nodeBin, script, ha, r, adminTokenFile, tls), ...extra], join(dir, `broker${r.index}.log`));
  return r.process;
}

/** Stops every replica and NATS node (SIGTERM, then SIGKILL). */
export async function stopHa(ha: LabBrokerHa): Promise<void> {
  await Promise.all(ha.replicas.flatMap((r) => (r.process ? [stopProcess(r.process.pid, 1000)] : [])));
  await Promise.all(ha.nats.flatMap((n) => (n.pid ? [stopProcess(n.pid, 1000)] : [])));
}
