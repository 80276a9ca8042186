/**
 * The broker's TLS material, made at deploy-broker: a CA (its key is not kept: a new broker
 * address means a new CA and a new broker-info) and a server certificate for every name and
 * address members dial. Made with the openssl command (P-256 keys); checked with node:crypto.
 */
import { spawnSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { isIPv4 } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ValidationError } from "@causeway/api";
import { DeployError } from "./errors.ts";

export interface BrokerPki {
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
}

function openssl(args: readonly string[], cwd: string): void {
  const r = spawnSync("openssl", args, { cwd, encoding: "utf8" });
  if (r.error)
    throw new ValidationError(
      "deploy-broker makes the broker's TLS certificate with openssl, which is not installed (apt-get install openssl), or pass --no-tls",
    );
  if (r.status !== 0) throw new DeployError(`openssl ${args[0]} failed: ${r.stderr.trim()}`);
}

/** A CA and a server certificate valid for `names` (DNS names and IPv4 addresses), for `days`. */
export function makeBrokerPki(names: readonly string[], days = 825): BrokerPki {
  const dir = mkdtempSync(join(tmpdir(), "causeway-pki-"));
  try {
    const key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    openssl(["req", "-x509", ...key, "-keyout", "ca.key", "-out", "ca.crt", "-days", String(days + 30), "-subj", "/CN=causeway-broker-ca"], dir);
    openssl(["req", ...key, "-keyout", "tls.key", "-out", "tls.csr", "-subj", "/CN=causeway-broker"], dir);
    const san = [...new Set(names)].map((n) => (isIPv4(n) ? `IP:${n}` : `DNS:${n}`)).join(",");
    writeFileSync(join(dir, "ext.cnf"), `subjectAltName=${san}\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n`);
    openssl(
      [
        "x509",
        "-req",
        "-in",
        "tls.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "tls.crt",
        "-days",
        String(days),
        "-extfile",
        "ext.cnf",
      ],
      dir,
    );
    const read = (f: string) => readFileSync(join(dir, f), "utf8");
    return { caPem: read("ca.crt"), certPem: read("tls.crt"), keyPem: read("tls.key") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Pure (but for parsing): whether the certificate is signed by the CA, covers every name, and is valid for at least `minDays` more. */
export function pkiCovers(pki: BrokerPki, names: readonly string[], minDays = 30): boolean {
  try {
    const cert = new X509Certificate(pki.certPem);
    const ca = new X509Certificate(pki.caPem);
    if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return false;
    if (Date.parse(cert.validTo) - Date.now() < minDays * 86_400_000) return false;
    return names.every((n) => (isIPv4(n) ? cert.checkIP(n) !== undefined : cert.checkHost(n) !== undefined));
  } catch {
    return false;
  }
}
