import { writeFileSync } from "node:fs";
import type { Command } from "commander";
import { InvalidArgumentError } from "commander";

/** "90d", "12h", "30m", "45s" or seconds → seconds. */
export function durationSeconds(v: string): number {
  const m = /^(\d+)([smhd]?)$/.exec(v.trim());
  if (!m) throw new InvalidArgumentError(`a duration like 90d, 12h, 30m or 45s, got "${v}"`);
  const unit = { "": 1, s: 1, m: 60, h: 3600, d: 86_400 }[m[2] as "" | "s" | "m" | "h" | "d"];
  const n = Number(m[1]) * unit;
  if (n > 10 * 365 * 86_400) throw new InvalidArgumentError(`at most 10 years, got "${v}"`);
  return n;
}

interface BrokerOpts {
  broker?: string;
  tokenFile?: string;
  lab?: string;
  brokerInfo?: string;
  ca?: string;
}

const withBroker = (c: Command) =>
  c
    .option("--broker <address>", "broker address (host:port or unix:///path); default: the running lab's")
    .option("--token-file <file>", "the admin credential (with --broker)")
    .option("--ca <file>", "the broker's CA (PEM): TLS")
    .option("--broker-info <file>", "the broker's address, CA and admin credential from deploy-broker's broker-info")
    .option("--lab <name>", "the lab whose broker to use");

/** `causeway broker credentials rotate|revoke|list`: member clusters' credentials, with the admin credential. */
export function credentialCommands(program: Command): void {
  const broker = program.command("broker").description("the broker's own administration");
  const creds = broker.command("credentials").description("member clusters' broker credentials: rotate, revoke, list");
  withBroker(
    creds
      .command("rotate <cluster>")
      .description("issue a new credential for a cluster; the old one keeps working for --grace")
      .option("--grace <duration>", "how long the old credential stays valid (e.g. 1h; 0: refused at once)", durationSeconds, 3600)
      .option("--ttl <duration>", "the new credential expires after this long (e.g. 90d; default: never)", durationSeconds)
      .option("-o, --out <file>", "write the new credential to this file (mode 0600; a standalone site's tokenFile: components pick it up on their next call)")
      .option("--kubeconfig <file>", "with --context: install the new credential in that member cluster (its Secret; its workloads roll)")
      .option("--context <name>", "the member cluster's kubeconfig context")
      .addHelpText(
        "after",
        "\nExamples:\n  causeway broker credentials rotate c1 --grace 1h --ttl 90d -o /etc/causeway/c1.token --broker 10.0.0.5:7400 --token-file admin.token",
      ),
  ).action(async (cluster: string, o: BrokerOpts & { grace: number; ttl?: number; out?: string; kubeconfig?: string; context?: string }) => {
    const conn = await connect(o);
    try {
      const r = await conn.rotateCredential(cluster, { graceSeconds: o.grace, ...(o.ttl ? { ttlSeconds: o.ttl } : {}) });
      if (o.out) writeFileSync(o.out, `${r.token}\n`, { mode: 0o600 });
      console.log(` ✓ cluster ${cluster}: credential generation ${r.generation}${r.expiresAt ? `, expires ${r.expiresAt}` : ""}`);
      console.log(o.grace ? ` ✓ the previous credential stays valid for ${o.grace} s` : " ✓ the previous credential is refused from now on");
      if (o.kubeconfig || o.context) {
        const { installCredential } = await import("@causeway/deploy");
        const changed = await installCredential({ kubeconfig: o.kubeconfig, context: o.context, clusterId: cluster, token: r.token, generation: r.generation });
        console.log(` ✓ installed in the member cluster: ${changed.join(", ")} (the workloads roll onto it)`);
      }
      if (o.out) console.log(` ✓ wrote ${o.out}`);
      else if (!o.kubeconfig && !o.context) console.log(r.token);
    } finally {
      conn.close();
    }
  });
  withBroker(creds.command("revoke <cluster>").description("refuse a cluster's credential from now on (its records stay; rotate issues a new one)")).action(
    async (cluster: string, o: BrokerOpts & { ca?: string }) => {
      const conn = await connect(o);
      try {
        const r = await conn.revokeCredential(cluster);
        if (!r.revoked) throw new InvalidArgumentError(`cluster ${cluster} has no credential (not a member)`);
        console.log(` ✓ cluster ${cluster}: credential revoked; its components are refused until 'causeway broker credentials rotate ${cluster}'`);
      } finally {
        conn.close();
      }
    },
  );
  withBroker(creds.command("list").description("each credential's generation, expiry and state (never the secret)")).action(
    async (o: BrokerOpts & { ca?: string }) => {
      const conn = await connect(o);
      try {
        const { credentials } = await conn.listCredentials();
        const rows = credentials.map((c) => [
          c.clusterId === "_admin" ? "(admin)" : c.clusterId,
          String(c.generation),
          c.createdAt,
          c.expiresAt || "never",
          c.revoked ? "revoked" : c.previousValidUntil ? `previous valid until ${c.previousValidUntil}` : "active",
        ]);
        const head = ["CLUSTER", "GENERATION", "ISSUED", "EXPIRES", "STATE"];
        const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
        for (const r of [head, ...rows])
          console.log(
            r
              .map((c, i) => c.padEnd(width[i] ?? 0))
              .join("  ")
              .trimEnd(),
          );
      } finally {
        conn.close();
      }
    },
  );
}

async function connect(o: BrokerOpts) {
  if (o.brokerInfo) {
    const { brokerInfoConnection } = await import("@causeway/deploy");
    return brokerInfoConnection(o.brokerInfo);
  }
  const { connectBroker } = await import("../broker.ts");
  return connectBroker(o);
}
