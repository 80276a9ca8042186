import { type Command, InvalidArgumentError, Option } from "commander";
import type { ClusterView } from "./model.ts";
import type { BrokerConnection } from "@causeway/common/broker-client";
import { type Section, SECTIONS } from "./sections.ts";

async function brokerViews(o: { broker?: string; tokenFile?: string; ca?: string; lab?: string }): Promise<ClusterView[]> {
  const { connectBroker } = await import("../broker.ts");
  const { buildViews } = await import("./model.ts");
  const conn = await connectBroker(o);
  try {
    return buildViews((await conn.list("")).records);
  } finally {
    conn.close();
  }
}

async function kubeViews(kubeconfig: string | undefined, contexts: string | undefined): Promise<ClusterView[]> {
  const { kube } = await import("@causeway/common");
  const { viewFromKube } = await import("./kube.ts");
  const out: ClusterView[] = [];
  for (const context of contexts ? contexts.split(",") : [undefined]) {
    const client = await kube.KubeClient.connect({ kubeconfig, context, timeoutMs: 5000 });
    try {
      out.push(await viewFromKube(client));
    } finally {
      client.close();
    }
  }
  return out;
}

/** `show brokers`: where the broker is and what it holds (from the broker), or where each cluster's configuration points (Kubernetes). */
async function showBrokers(
  o: { broker?: string; tokenFile?: string; lab?: string; kubeconfig?: string; context?: string },
  fromKube: boolean,
): Promise<string> {
  const { renderTable } = await import("./table.ts");
  if (fromKube) {
    const { kube } = await import("@causeway/common");
    const rows: string[][] = [];
    for (const context of o.context ? o.context.split(",") : [undefined]) {
      const client = await kube.KubeClient.connect({ kubeconfig: o.kubeconfig, context, timeoutMs: 5000 });
      try {
        const c = await kube.loadJoinedCluster(client, "causeway-system", false);
        rows.push([context ?? "(current)", c.clusterId, c.brokerAddress]);
      } finally {
        client.close();
      }
    }
    return renderTable([{ header: "CONTEXT" }, { header: "CLUSTER ID" }, { header: "BROKER" }], rows);
  }
  const { connectBroker } = await import("../broker.ts");
  const conn = await connectBroker(o);
  try {
    const who = await conn.whoAmI();
    const { records, revision } = await conn.list("");
    const gn = await conn.clusterset();
    const clusters = new Set(records.filter((r) => r.kind === "cluster").map((r) => r.clusterId));
    return renderTable(
      [
        { header: "BROKER" },
        { header: "REVISION" },
        { header: "CLUSTERS" },
        { header: "RECORDS" },
        { header: "GLOBALNET" },
        { header: "GLOBALNET CIDR" },
        { header: "DEFAULT GLOBALNET SIZE" },
        { header: "YOU ARE" },
      ],
      [
        [
          conn.address,
          String(revision),
          [...clusters].sort().join(", ") || "none",
          String(records.length),
          gn.enabled ? "yes" : "no",
          gn.cidrRange,
          gn.enabled ? String(gn.clusterSize) : "",
          who.role === "admin" ? "admin" : `cluster ${who.clusterId}`,
        ],
      ],
    );
  } finally {
    conn.close();
  }
}

/** `show exports`: every cluster's exports at the broker (Kubernetes: the broker the current context's cluster joined, with its credential). */
async function showExports(
  o: { broker?: string; tokenFile?: string; lab?: string; kubeconfig?: string; context?: string; output?: string },
  fromKube: boolean,
) {
  const { exportRows, exportsData, renderExports } = await import("./exports.ts");
  let conn: BrokerConnection;
  if (fromKube) {
    const { kube } = await import("@causeway/common");
    const { joinedBrokerConnection } = await import("@causeway/common/broker-client");
    const client = await kube.KubeClient.connect({ kubeconfig: o.kubeconfig, context: o.context?.split(",")[0], timeoutMs: 5000 });
    try {
      conn = joinedBrokerConnection(await kube.loadJoinedCluster(client, "causeway-system"));
    } finally {
      client.close();
    }
  } else {
    const { connectBroker } = await import("../broker.ts");
    conn = await connectBroker(o);
  }
  try {
    const rows = exportRows((await conn.list("export")).records);
    if (o.output === "json") console.log(JSON.stringify(exportsData(rows), null, 2));
    else if (o.output === "yaml") console.log((await import("yaml")).stringify(exportsData(rows)).trimEnd());
    else console.log(renderExports(rows));
  } finally {
    conn.close();
  }
}

/**
 * Pure: where `show` reads from — the clusters' APIs when a kubeconfig or context is given, or,
 * with no broker or lab named, when a default kubeconfig exists ($KUBECONFIG, ~/.kube/config: the
 * current context, like subctl); otherwise the broker (a running lab's when none is named).
 */
export function showSource(
  o: { broker?: string; lab?: string; kubeconfig?: string; context?: string },
  env: { KUBECONFIG?: string | undefined; defaultConfigExists: boolean },
): "kube" | "broker" | "lab" {
  if (o.kubeconfig || o.context) return "kube";
  if (o.broker || o.lab) return "broker";
  return env.KUBECONFIG || env.defaultConfigExists ? "kube" : "lab";
}

/** `causeway show`: subctl's show, from the broker or from each cluster's API. */
export function showCommand(program: Command): void {
  program
    .command("show")
    .description(
      "show the clusterset: as each cluster's API sees it (--kubeconfig/--context, or the current context of $KUBECONFIG or ~/.kube/config), or as the broker sees it (--broker, --lab; a running lab when there is no kubeconfig)",
    )
    .argument("[what]", `all | ${SECTIONS.join(" | ")} | brokers | exports`, "all")
    .option("--broker <address>", "broker address (host:port or unix:///path); default: the running lab's")
    .option("--token-file <file>", "credential file for --broker")
    .option("--ca <file>", "the broker's CA (PEM) for --broker: TLS (or $CAUSEWAY_BROKER_CA)")
    .option("--lab <name>", "which lab, when several run")
    .option("--kubeconfig <file>", "Kubernetes mode: read the clusters' own APIs (default: $KUBECONFIG, ~/.kube/config)")
    .option("--context <names>", "kubeconfig context(s), comma-separated (default: the current one)")
    .addOption(new Option("-o, --output <format>", "output format").choices(["table", "json", "yaml"]).default("table"))
    .addHelpText("after", "\nExamples:\n  causeway show all\n  causeway show connections --kubeconfig k.yaml --context east -o yaml")
    .action(
      async (what: string, o: { broker?: string; tokenFile?: string; ca?: string; lab?: string; kubeconfig?: string; context?: string; output: string }) => {
        const sections: readonly Section[] = what === "all" ? SECTIONS : (SECTIONS as readonly string[]).includes(what) ? [what as Section] : [];
        if (!sections.length && what !== "brokers" && what !== "exports")
          throw new InvalidArgumentError(`unknown section "${what}"; use all, ${SECTIONS.join(", ")}, brokers, exports`);
        const { existsSync } = await import("node:fs");
        const { homedir } = await import("node:os");
        const source = showSource(o, { KUBECONFIG: process.env.KUBECONFIG, defaultConfigExists: existsSync(`${homedir()}/.kube/config`) });
        if (source === "lab") console.error("no kubeconfig ($KUBECONFIG unset, no ~/.kube/config): showing the running lab's broker");
        if (what === "brokers") {
          console.log(await showBrokers(o, source === "kube"));
          return;
        }
        if (what === "exports") {
          await showExports(o, source === "kube");
          return;
        }
        const views = source === "kube" ? await kubeViews(o.kubeconfig, o.context) : await brokerViews(o);
        const { renderText, toData } = await import("./render.ts");
        if (o.output === "json") console.log(JSON.stringify(toData(views, sections), null, 2));
        else if (o.output === "yaml") console.log((await import("yaml")).stringify(toData(views, sections)).trimEnd());
        else console.log(renderText(views, sections));
      },
    );
}
