import { readFileSync } from "node:fs";
import { ValidationError } from "@causeway/api";
import { BrokerConnection } from "@causeway/common/broker-client";
import { openLab } from "./labs.ts";

export interface BrokerFlags {
  readonly broker?: string;
  readonly tokenFile?: string;
  readonly lab?: string;
  /** The broker's CA (PEM file): TLS. */
  readonly ca?: string;
}

/** --broker/--token-file (or CAUSEWAY_BROKER/CAUSEWAY_TOKEN_FILE); otherwise the running lab's broker. */
export async function connectBroker(f: BrokerFlags): Promise<BrokerConnection> {
  const address = f.broker ?? process.env.CAUSEWAY_BROKER;
  const tokenFile = f.tokenFile ?? process.env.CAUSEWAY_TOKEN_FILE;
  if (address) {
    if (!tokenFile) throw new ValidationError("--broker needs --token-file (a file holding an admin or cluster credential)");
    const ca = f.ca ?? process.env.CAUSEWAY_BROKER_CA;
    return new BrokerConnection({ address, token: readFileSync(tokenFile, "utf8").trim(), ...(ca ? { ca: readFileSync(ca, "utf8") } : {}) });
  }
  return (await openLab(f.lab)).admin();
}
