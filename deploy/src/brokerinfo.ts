import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { type BrokerInfo, decodeBrokerInfo, encodeBrokerInfo, errorMessage, ValidationError } from "@causeway/api";

export function readBrokerInfo(path: string): BrokerInfo {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new ValidationError(`cannot read broker-info file ${path}: ${errorMessage(err)}`);
  }
  return decodeBrokerInfo(text, `broker-info file ${path}`);
}

/** Writes the file (0600); an existing different file is kept as <path>.<timestamp> first, as subctl does. */
export function writeBrokerInfo(path: string, b: BrokerInfo): { backup?: string } {
  const text = encodeBrokerInfo(b);
  let backup: string | undefined;
  if (existsSync(path)) {
    if (readFileSync(path, "utf8") === text) return {};
    backup = `${path}.${new Date().toISOString().replaceAll(":", "_")}`;
    renameSync(path, backup);
  }
  writeFileSync(path, text, { mode: 0o600 });
  return { backup };
}
