import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { labMemoryDir } from "./paths.ts";
import { ValidationError } from "@causeway/api";
import { BrokerConnection } from "@causeway/common/broker-client";
import {
  buildReplicaHosts,
  haAddress,
  haPlan,
  startNatsCluster,
  startNatsNode as startNats,
  startReplica as startBrokerReplica,
  writeLabPki,
} from "./brokerha.ts";
import { alive, type LabProcess, startIn } from "./processes.ts";
import { LabError } from "./errors.ts";
import { type LabCore, script } from "./state.ts";
import { LAB } from "./topology.ts";

/** --broker-tls: a CA and a certificate for every broker address (one certificate serves all replicas). */
/** The lab broker's SQLite database: in memory (paths.ts, LAB_MEMORY_ROOT), made on first use. */
function brokerDb(lab: string): string {
  const dir = labMemoryDir(lab);
  mkdirSync(dir, { recursive: true });
  return join(dir, "broker.db");
}

export function makeBrokerTls(lab: LabCore): void {
  const b = lab.state.broker;
  const ips = b.ha ? b.ha.replicas.map((r) => r.ip) : [LAB.brokerIp];
  b.tls = writeLabPki(ips, {
    caFile: join(lab.state.dir, "broker-ca.crt"),
    certFile: join(lab.state.dir, "broker-tls.crt"),
    keyFile: join(lab.state.dir, "broker-tls.key"),
  });
  lab.save();
}

/** Backend nats: the NATS cluster and the replicas' hosts; components dial every replica. */
export async function buildHa(lab: LabCore, replicas: number, mtu?: number, o: { replicaHosts: boolean } = { replicaHosts: true }): Promise<void> {
  const st = lab.state;
  const ha = haPlan(st.name, st.dir, replicas, st.broker.ns);
  st.broker.ha = ha;
  st.broker.address = haAddress(ha);
  lab.save();
  await startNatsCluster(lab.run, st.name, st.dir, ha, mtu);
  // Real nodes: the replicas are the broker Deployment's pods, not hosts of the lab's.
  if (o.replicaHosts) await buildReplicaHosts(lab.run, st.name, ha, mtu);
  lab.save();
}

/** (Re)starts broker replica `index` (backend nats) and waits until it answers. */
export async function startReplica(lab: LabCore, index: number): Promise<void> {
  const b = lab.state.broker;
  const r = b.ha?.replicas.find((x) => x.index === index);
  if (!b.ha || !r) throw new ValidationError(`the lab has no broker replica ${index}`);
  const p = startBrokerReplica(
    lab.state.nodeBin,
    script("broker/src/main.ts"),
    b.ha,
    r,
    b.adminTokenFile,
    lab.state.dir,
    b.tls,
    lab.state.globalnet ? ["--globalnet"] : [],
  );
  if (index === 1) b.process = p;
  lab.save();
  await waitBroker(lab, r.socket, p);
}

/** Starts the broker again after it stopped or was killed (every replica that is not running, with replicas). */
export async function restartBroker(lab: LabCore): Promise<void> {
  const b = lab.state.broker;
  if (!b.ha) {
    if (b.process && alive(b.process.pid)) return;
    await startBroker(lab);
    return;
  }
  for (const r of b.ha.replicas) if (!r.process || !alive(r.process.pid)) await startReplica(lab, r.index);
}

/** Restarts NATS node `index` (1..3) of a nats-backed lab. */
export async function startNatsNode(lab: LabCore, index: number): Promise<void> {
  const ha = lab.state.broker.ha;
  const n = ha?.nats[index - 1];
  if (!ha || !n) throw new ValidationError(`the lab has no NATS node ${index}`);
  await startNats(ha, n, lab.state.dir, readFileSync(ha.passwordFile, "utf8").trim());
  lab.save();
}

/** Starts the standalone broker (or every replica) and waits until it answers. */
export async function startBroker(lab: LabCore): Promise<void> {
  const b = lab.state.broker;
  if (b.ha) {
    // The first replica writes the admin token; the others read it.
    for (const r of b.ha.replicas) await startReplica(lab, r.index);
    return;
  }
  b.process = startIn(
    b.ns,
    "broker",
    [
      lab.state.nodeBin,
      script("broker/src/main.ts"),
      "--listen",
      `0.0.0.0:${LAB.brokerPort}`,
      "--listen",
      b.socket,
      "--db",
      brokerDb(lab.state.name),
      "--admin-token-file",
      b.adminTokenFile,
      ...(b.tls ? ["--tls-cert", b.tls.certFile, "--tls-key", b.tls.keyFile] : []),
      ...(lab.state.globalnet ? ["--globalnet"] : []),
    ],
    join(lab.state.dir, "broker.log"),
  );
  lab.save();
  await waitBroker(lab);
}

/** Waits (15 s at most) until the broker behind `socket` answers an admin call; fails early when its process exited. */
export async function waitBroker(lab: LabCore, socket = lab.state.broker.socket, proc: LabProcess | undefined = lab.state.broker.process): Promise<void> {
  const b = lab.state.broker;
  if (!proc) throw new ValidationError("the lab broker is not running");
  const end = Date.now() + 15_000;
  for (;;) {
    try {
      if (existsSync(b.adminTokenFile)) {
        const tls = b.adminTls && socket === b.socket ? { ca: readFileSync(b.adminTls.caFile, "utf8"), serverName: b.adminTls.serverName } : {};
        const c = new BrokerConnection({ address: socket, token: readFileSync(b.adminTokenFile, "utf8").trim(), ...tls });
        await c.whoAmI();
        c.close();
        return;
      }
    } catch {
      // not up yet
    }
    if (!alive(proc.pid)) throw new LabError(`the lab broker exited; see ${proc.log}`);
    if (Date.now() > end) throw new LabError(`the lab broker did not answer within 15 s; see ${join(lab.state.dir, "broker.log")}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
