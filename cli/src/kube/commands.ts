import { deployBroker, join } from "@causeway/deploy";
import type { Command } from "commander";

const list = (v: string): string[] =>
  v
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean);
const say = (line: string) => console.log(` ✓ ${line}`);

interface JoinFlags {
  kubeconfig?: string;
  context?: string;
  clusterid?: string;
  clustercidr?: string[];
  servicecidr?: string[];
  cableDriver: string;
  intraCluster: string;
  labelGateway: boolean;
  dryRun?: boolean;
}

/** `deploy-broker` and `join`: install Causeway on clusters through their API servers (server-side apply). */
export function kubeCommands(program: Command): void {
  program
    .command("deploy-broker")
    .description("deploy the broker to a cluster and write broker-info for 'causeway join'")
    .option("--kubeconfig <file>", "kubeconfig (default: $KUBECONFIG, ~/.kube/config)")
    .option("--context <name>", "kubeconfig context")
    .option("--broker-url <host:port>", "the address member gateways dial (default: the broker Service's address)")
    .option("-o, --out <file>", "where broker-info is written", "broker-info.subm")
    .option("--dry-run", "print what would be applied; change nothing")
    .action(async (o: { kubeconfig?: string; context?: string; brokerUrl?: string; out: string; dryRun?: boolean }) => {
      const r = await deployBroker({ ...o, say });
      if (r.manifests) {
        console.log(r.manifests.trimEnd());
        return;
      }
      say(r.changed.length ? `applied ${r.changed.length} object(s): ${r.changed.join(", ")}` : "the broker is deployed already; nothing changed");
      if (r.backup) say(`kept the previous broker-info as ${r.backup}`);
      say(`wrote ${o.out} (broker ${r.info.brokerURL}); join clusters with: causeway join ${o.out} --kubeconfig … --context …`);
    });
  program
    .command("join <broker-info>")
    .description("join a cluster to the clusterset of a broker")
    .option("--kubeconfig <file>", "kubeconfig (default: $KUBECONFIG, ~/.kube/config)")
    .option("--context <name>", "kubeconfig context")
    .option("--clusterid <id>", "cluster id (default: the context's cluster name)")
    .option("--clustercidr <cidrs>", "pod CIDRs, comma-separated (default: discovered)", list)
    .option("--servicecidr <cidrs>", "service CIDRs, comma-separated (default: discovered)", list)
    .option("--cable-driver <driver>", "cable driver", "vxlan")
    .option("--intra-cluster <mode>", "vxlan | direct", "vxlan")
    .option("--no-label-gateway", "do not label a gateway node when none is labelled")
    .option("--dry-run", "print what would be applied; change nothing")
    .action(async (file: string, o: JoinFlags) => {
      const r = await join({
        brokerInfoFile: file,
        kubeconfig: o.kubeconfig,
        context: o.context,
        clusterId: o.clusterid,
        clusterCidrs: o.clustercidr,
        serviceCidrs: o.servicecidr,
        cableDriver: o.cableDriver,
        intraCluster: o.intraCluster,
        labelGateway: o.labelGateway,
        dryRun: o.dryRun,
        say,
      });
      if (r.manifests) {
        console.log(r.manifests.trimEnd());
        return;
      }
      say(r.changed.length ? `applied ${r.changed.length} object(s)` : "already joined with this configuration; nothing changed");
      say(`cluster ${r.clusterId} ${r.reused ? "was already a member" : "joined the clusterset"}`);
    });
}
