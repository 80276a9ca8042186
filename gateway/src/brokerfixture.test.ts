/**
 * Test support (a .test.ts file: tests may import the broker): a real broker on a Unix socket in a temporary directory, started before a suite's
 * tests and removed after them with every connection the tests opened through it.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before } from "node:test";
import { globalnetSettings } from "@causeway/api";
import { startBroker } from "@causeway/broker";
import { silentLogger } from "@causeway/common";
import { BrokerConnection } from "@causeway/common/broker-client";

export interface BrokerFixture {
  readonly sock: string;
  /** A connection with the admin token (closed after the suite). */
  admin(): BrokerConnection;
  /** A connection with `token` (closed after the suite). */
  connect(token: string): BrokerConnection;
}

/** Registers the suite's before/after hooks; call it inside describe(). */
export function brokerFixture(prefix: string, o: { globalnet?: boolean } = {}): BrokerFixture {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const sock = `unix://${join(dir, "broker.sock")}`;
  const conns: BrokerConnection[] = [];
  let broker: Awaited<ReturnType<typeof startBroker>> | undefined;
  before(async () => {
    const globalnet = o.globalnet ? { globalnet: globalnetSettings({ enabled: true }) } : {};
    broker = await startBroker({ listen: [sock], db: join(dir, "broker.db"), adminTokenFile: join(dir, "admin-token"), ...globalnet }, silentLogger());
  });
  after(async () => {
    for (const c of conns) c.close();
    await broker?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const connect = (token: string) => {
    const c = new BrokerConnection({ address: sock, token });
    conns.push(c);
    return c;
  };
  return { sock, connect, admin: () => connect(readFileSync(join(dir, "admin-token"), "utf8").trim()) };
}
