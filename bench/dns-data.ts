import type { ImportedService } from "@causeway/lighthouse";

/**
 * The benchmark clusterset seen from c1: `n` ClusterSetIP services in namespace bench, each
 * exported by one of c1..c3 (so c1 answers its own for a third, the single remote one for the
 * rest), every tenth also headless with 3 ready pods in c2.
 */
export function benchServices(n: number): ImportedService[] {
  const out: ImportedService[] = [];
  for (let i = 0; i < n; i++) {
    const c = 1 + (i % 3);
    const name = `s${String(i).padStart(4, "0")}`;
    if (i % 10 === 9) {
      out.push({
        namespace: "bench",
        name,
        type: "Headless",
        clusters: [
          {
            clusterId: "c2",
            ports: [],
            endpoints: [0, 1, 2].map((k) => ({ ip: `10.2.${Math.floor(i / 50)}.${(i % 50) * 4 + k + 1}`, ready: true, hostname: `${name}-${k}` })),
          },
        ],
      });
      continue;
    }
    out.push({
      namespace: "bench",
      name,
      type: "ClusterSetIP",
      clusters: [
        {
          clusterId: `c${c}`,
          ip: `10.${100 + c}.${Math.floor(i / 250)}.${(i % 250) + 1}`,
          ports: [{ name: "http", protocol: "TCP", port: 80 }],
          endpoints: [{ ip: "10.9.9.9", ready: true }],
        },
      ],
    });
  }
  return out;
}

/** Pure: the same answers as a zone file for CoreDNS's file plugin (SOA as the lighthouse's negative answers carry). */
export function benchZone(services: readonly ImportedService[]): string {
  const lines = [
    "$ORIGIN clusterset.local.",
    "@ 5 IN SOA ns.dns.clusterset.local. hostmaster.clusterset.local. 1 7200 1800 86400 5",
    "@ 5 IN NS ns.dns.clusterset.local.",
    "ns.dns 5 IN A 127.0.0.1",
    '@ 5 IN TXT "1.0.0"',
  ];
  for (const s of services) {
    const rel = `${s.name}.${s.namespace}.svc`;
    for (const c of s.clusters) {
      if (s.type === "ClusterSetIP") lines.push(`${rel} 5 IN A ${c.ip}`, `${c.clusterId}.${rel} 5 IN A ${c.ip}`);
      else
        for (const e of c.endpoints)
          lines.push(`${rel} 5 IN A ${e.ip}`, `${c.clusterId}.${rel} 5 IN A ${e.ip}`, `${e.hostname}.${c.clusterId}.${rel} 5 IN A ${e.ip}`);
    }
  }
  return `${lines.join("\n")}\n`;
}

/** Pure: dnsperf's query file: per service its name (A), its <cluster>.<name> (A), and one unknown name (NXDOMAIN) in every ten lines. */
export function benchQueries(services: readonly ImportedService[]): string {
  const lines: string[] = [];
  services.forEach((s, i) => {
    const rel = `${s.name}.${s.namespace}.svc.clusterset.local`;
    lines.push(`${rel} A`);
    if (i % 2 === 0) lines.push(`${s.clusters[0]?.clusterId}.${rel} A`);
    if (i % 5 === 0) lines.push(`nope${i}.${s.namespace}.svc.clusterset.local A`);
  });
  return `${lines.join("\n")}\n`;
}
