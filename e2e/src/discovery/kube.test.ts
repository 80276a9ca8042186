/**
 * Lab e2e, service discovery in Kubernetes mode on real nodes: 2 clusters × 3 nodes (kubelet,
 * containerd, kube-proxy each), Causeway installed by deploy-broker + join (the lighthouse
 * Deployment — two replicas, its DNS Service, the CoreDNS ConfigMap wired), CoreDNS running that
 * ConfigMap's Corefile; the lab's services are Pods and Services the kubelets and kube-proxy serve. MCS rules
 * through the API objects: conditions, ServiceImports, MCS EndpointSlices, conflicts, export
 * before Service, ExternalName, unexport; DNS and traffic by name from pods. Needs root.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { MCS_CRDS } from "@causeway/api";
import { kube, ProcessRunner } from "@causeway/common";
import { Lab, REPO_ROOT, until } from "@causeway/lab";
import { credentialsIn, labCredentials } from "./archive.ts";
import { podDig, podGet, podQuery } from "./pods.ts";
import { nodeTrace } from "../kube/nodetrace.ts";
import { upConnected } from "../fixture.ts";

const root = process.getuid?.() === 0;
const NAME = "cwsdk";
const NS = "default";
const CLIENT = "c1/n2/p0";
const fqdn = (svc: string) => `${svc}.${NS}.svc.clusterset.local`;
/** The conformance suite's budget for imports and conditions. */
const MCS_WAIT_MS = 20_000;

type Conditions = { type: string; status: string; reason?: string }[];

describe(
  "lab service discovery (kube): ServiceExport → broker → ServiceImport, EndpointSlices, DNS",
  { skip: root ? false : "needs root", timeout: 600_000 },
  () => {
    let lab: Lab;
    const clients: Record<string, kube.KubeClient> = {};
    const cl = (c: string): kube.KubeClient => {
      const x = clients[c];
      if (!x) throw new Error(`no client for ${c}`);
      return x;
    };
    const exportIn = (c: string, name: string) => cl(c).apply(kube.R.serviceExport, { metadata: { name, namespace: NS } }, { fieldManager: "e2e" });
    const unexportIn = (c: string, name: string) => cl(c).delete(kube.R.serviceExport, NS, name);
    const conditions = async (c: string, name: string): Promise<Record<string, string>> => {
      const se = await cl(c).get<{ status?: { conditions?: Conditions } }>(kube.R.serviceExport, NS, name);
      return Object.fromEntries((se?.status?.conditions ?? []).map((x) => [x.type, `${x.status}${x.reason ? `/${x.reason}` : ""}`]));
    };
    const serviceImport = (c: string, name: string) =>
      cl(c)
        .get<{ spec: { type: string; ports?: unknown[]; ips?: string[]; ipFamilies?: string[] }; status?: { clusters?: { cluster: string }[] } }>(
          kube.R.serviceImport,
          NS,
          name,
        )
        .catch((err: unknown) => {
          if (err instanceof kube.KubeNotFoundError) return undefined;
          throw err;
        });
    const dig = (from: string, name: string) => podDig(lab, from, name);
    const get = (from: string, host: string) => podGet(lab, from, host);
    const waitFor = <T>(what: string, f: () => Promise<T | undefined>) => until(what, f, MCS_WAIT_MS);
    const cliRun = (args: string[]) => new ProcessRunner(30_000).run(process.execPath, [join(REPO_ROOT, "cli/src/main.ts"), ...args], { allowFailure: true });

    before(async () => {
      lab = await upConnected({ name: NAME, clusters: 2, nodes: 3, kube: true }, 90_000);
      for (const c of ["c1", "c2"]) clients[c] = await lab.kubeClient(c);
    });
    after(async () => {
      for (const c of Object.values(clients)) c.close();
      await Lab.down(NAME);
    });

    it("a ClusterIP export: conditions, a ClusterSetIP ServiceImport with its ports and a labelled MCS EndpointSlice in the other cluster, DNS and traffic by name", async () => {
      const t0 = performance.now();
      // As a user would: the CLI creates the ServiceExport and reports the lighthouse's verdict.
      const r = await cliRun(["export", "service", "echo", "-n", NS, "--context", "c2", "--lab", NAME]);
      assert.equal(r.exitCode, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /✓ exported default\/echo: echo\.default\.svc\.clusterset\.local/);
      const si = await waitFor("c1 imports echo", () => serviceImport("c1", "echo"));
      console.log(`# kube: ServiceImport in c1 ${Math.round(performance.now() - t0)} ms after the ServiceExport in c2`);
      assert.equal(si.spec.type, "ClusterSetIP");
      assert.deepEqual(si.spec.ports, [{ name: "http", port: 80, protocol: "TCP" }]);
      assert.deepEqual(si.status?.clusters, [{ cluster: "c2" }]);
      assert.deepEqual(await waitFor("conditions", async () => ((await conditions("c2", "echo")).Ready ? conditions("c2", "echo") : undefined)), {
        Valid: "True/Exported",
        Ready: "True/Exported",
        Conflict: "False/NoConflicts",
      });
      await assertMcsSlices(clients, NS, "echo");
      // The name answers the ServiceImport's clusterset IP (lighthouse's default, as the MCS DNS specification has it).
      const ips = si.spec.ips ?? [];
      assert.match(ips[0] ?? "", /^243\./);
      assert.deepEqual(await waitFor("c1 resolves echo", async () => ((await dig(CLIENT, fqdn("echo")))[0] === ips[0] ? ips : undefined)), ips);
      // The other record types, through the pod's resolver (CoreDNS forwards clusterset.local and 243.in-addr.arpa to the lighthouse).
      const srv = [{ name: fqdn("echo"), port: 80, priority: 0, weight: 50 }];
      assert.deepEqual(await podQuery(lab, CLIENT, fqdn("echo"), "SRV"), srv);
      assert.deepEqual(await podQuery(lab, CLIENT, `_http._tcp.${fqdn("echo")}`, "SRV"), srv);
      assert.deepEqual(await podQuery(lab, CLIENT, "dns-version.clusterset.local", "TXT"), ["1.0.0"]);
      assert.equal(await podQuery(lab, CLIENT, fqdn("echo"), "AAAA"), "ENODATA", "IPv4 only: the name exists, with no AAAA");
      assert.deepEqual(await podQuery(lab, CLIENT, ips[0] ?? "", "PTR"), [fqdn("echo")]);
      // cluster.local keeps answering the local Service only.
      assert.deepEqual(await dig(CLIENT, "echo.default.svc.cluster.local"), ["10.101.0.10"]);
      const tcp = await lab.exec(CLIENT, [process.execPath, join(REPO_ROOT, "lab/src/tools/client.ts"), "--host", fqdn("echo"), "--port", "80"]);
      assert.match(tcp.stdout, /^c2\/n1\/p0 sees 10\.1\.2\.10:/, tcp.stdout + tcp.stderr);
    });

    it("ServiceExport before its Service: Valid False ServiceUnavailable and nothing imported; the Service appears → exported and reachable", async () => {
      const early = await cliRun(["export", "service", "web", "-n", NS, "--context", "c2", "--lab", NAME]);
      assert.equal(early.exitCode, 2, "the CLI says the export is not valid yet");
      assert.match(early.stdout, /✗ ServiceExport default\/web created but not valid: ServiceUnavailable/);
      assert.deepEqual(await waitFor("not valid", async () => ((await conditions("c2", "web")).Valid ? conditions("c2", "web") : undefined)), {
        Valid: "False/ServiceUnavailable",
        Ready: "False/ServiceUnavailable",
        Conflict: "False/NoConflicts",
      });
      assert.equal(await serviceImport("c1", "web"), undefined);
      await lab.addService("c2/default/web", { pods: 2 });
      await waitFor("valid", async () => ((await conditions("c2", "web")).Valid === "True/Exported" ? true : undefined));
      await waitFor("c1 reaches web", async () => ((await get(CLIENT, fqdn("web"))).startsWith("c2/web-") ? true : undefined));
    });

    it("an ExternalName Service is not exportable", async () => {
      await clients.c1?.apply(
        kube.R.service,
        { metadata: { name: "ext", namespace: NS }, ...{ spec: { type: "ExternalName", externalName: "example.invalid" } } },
        { fieldManager: "e2e" },
      );
      await exportIn("c1", "ext");
      assert.equal(await waitFor("invalid", async () => (await conditions("c1", "ext")).Valid), "False/UnsupportedServiceType");
      assert.equal(await serviceImport("c2", "ext"), undefined);
    });

    it("headless in one cluster, ClusterIP in the other: Conflict on both, the oldest (headless) wins; pods answered by name", async () => {
      const db = await lab.addService("c1/default/db", { pods: 2, headless: true, port: 5432 });
      await exportIn("c1", "db");
      await waitFor("c1's db exported", async () => ((await conditions("c1", "db")).Ready === "True/Exported" ? true : undefined));
      await new Promise((r) => setTimeout(r, 1100)); // a later creation second: c2's export is younger
      await lab.addService("c2/default/db", { pods: 1 });
      await exportIn("c2", "db");
      for (const c of ["c1", "c2"]) {
        assert.equal(
          await waitFor(`conflict in ${c}`, async () => ((await conditions(c, "db")).Conflict === "True/ConflictingType" ? "yes" : undefined)),
          "yes",
        );
        assert.equal((await waitFor(`${c} imports db`, () => serviceImport(c, "db"))).spec.type, "Headless");
      }
      const ips = db.pods.map((p) => p.ip).sort();
      await waitFor("c2 gets c1's pods", async () => {
        const a = await dig("c2/n2/p0", fqdn("db"));
        return Array.isArray(a) && a.sort().join() === ips.join() ? true : undefined;
      });
      assert.deepEqual(await dig("c2/n2/p0", `db-0.c1.${fqdn("db")}`), [db.pods[0]?.ip]);
    });

    it("active-active by name and by clusterset IP: local first; the local service loses its pods → the other cluster's; back", async () => {
      await lab.addService("c1/default/aa", { pods: 1 });
      await lab.addService("c2/default/aa", { pods: 1 });
      await exportIn("c1", "aa");
      await exportIn("c2", "aa");
      await waitFor("local first", async () => ((await get(CLIENT, fqdn("aa"))) === "c1/aa-0" ? true : undefined));
      await waitFor("c2 exported too", async () => ((await serviceImport("c1", "aa"))?.status?.clusters?.length === 2 ? true : undefined));
      // By name and by the import's clusterset IP (translated by the route agents from the ServiceImport and MCS EndpointSlices).
      const ip = (await serviceImport("c1", "aa"))?.spec.ips?.[0] ?? "";
      assert.match(ip, /^243\./);
      const targets = [fqdn("aa"), ip];
      for (const t of targets) await waitFor(`local first at ${t}`, async () => ((await get(CLIENT, t)) === "c1/aa-0" ? true : undefined));
      await lab.scaleService("c1/default/aa", 0);
      const t0 = performance.now();
      await waitFor("c2's aa", async () => ((await get(CLIENT, fqdn("aa"))) === "c2/aa-0" ? true : undefined));
      console.log(`# kube active-active: c1's clients reached c2's aa ${Math.round(performance.now() - t0)} ms after c1's pods went`);
      await waitFor("c2's aa by clusterset IP", async () => ((await get(CLIENT, ip)) === "c2/aa-0" ? true : undefined));
      await lab.scaleService("c1/default/aa", 1);
      for (const t of targets) await waitFor(`back to c1 at ${t}`, async () => ((await get(CLIENT, t)) === "c1/aa-0" ? true : undefined));
    });

    it("the import carries the Service's session affinity, traffic policy and distribution; ports are the union, a port conflict is on both exports and the oldest wins", async () => {
      const service = (c: string, ports: { name: string; port: number }[], extra: Record<string, unknown> = {}) =>
        cl(c).apply(
          kube.R.service,
          { metadata: { name: "attrs", namespace: NS }, ...{ spec: { ports: ports.map((p) => ({ ...p, protocol: "TCP" })), ...extra } } },
          { fieldManager: "e2e" },
        );
      await service("c1", [{ name: "http", port: 80 }], {
        sessionAffinity: "ClientIP",
        sessionAffinityConfig: { clientIP: { timeoutSeconds: 300 } },
        internalTrafficPolicy: "Local",
        trafficDistribution: "PreferClose",
      });
      await exportIn("c1", "attrs");
      await waitFor("c1's attrs exported", async () => ((await conditions("c1", "attrs")).Ready === "True/Exported" ? true : undefined));
      const first = await waitFor("attrs' clusterset IP", async () => (await serviceImport("c2", "attrs"))?.spec.ips);
      await new Promise((r) => setTimeout(r, 1100)); // c2's export is younger
      await service("c2", [
        { name: "http", port: 8080 },
        { name: "metrics", port: 9090 },
      ]);
      await exportIn("c2", "attrs");
      const si = await waitFor("both exports imported", async () => {
        const x = await serviceImport("c2", "attrs");
        return x?.status?.clusters?.length === 2 ? x : undefined;
      });
      // One clusterset IP (from the oldest exporter's block in 243.0.0.0/8), the same in every cluster.
      const { ips, ipFamilies, ...spec } = si.spec;
      assert.deepEqual(ipFamilies, ["IPv4"]);
      assert.equal(ips?.length, 1);
      assert.match(ips?.[0] ?? "", /^243\./);
      assert.deepEqual((await serviceImport("c1", "attrs"))?.spec.ips, ips);
      assert.deepEqual(ips, first, "the address stays while the ports change (c2's export adds one)");
      assert.deepEqual(spec, {
        type: "ClusterSetIP",
        ports: [
          { name: "http", port: 80, protocol: "TCP" },
          { name: "metrics", port: 9090, protocol: "TCP" },
        ],
        sessionAffinity: "ClientIP",
        sessionAffinityConfig: { clientIP: { timeoutSeconds: 300 } },
        internalTrafficPolicy: "Local",
        trafficDistribution: "PreferClose",
      });
      for (const c of ["c1", "c2"]) {
        assert.equal(
          await waitFor(`port conflict in ${c}`, async () => ((await conditions(c, "attrs")).Conflict === "True/ConflictingPorts" ? "yes" : undefined)),
          "yes",
        );
      }
      const headless = await serviceImport("c1", "db");
      assert.equal(headless?.spec.type, "Headless");
      assert.equal((headless?.spec as { ips?: unknown }).ips, undefined, "no clusterset IP for a headless import");
    });

    it("a user's own ServiceImport is left alone (a Warning Event on it says why, no slices, no clusterset IP); deleted → Causeway's import takes its place", async () => {
      const mine = { metadata: { name: "mine", namespace: NS }, ...{ spec: { type: "ClusterSetIP", ports: [{ name: "http", port: 80, protocol: "TCP" }] } } };
      await cl("c1").apply(kube.R.serviceImport, mine, { fieldManager: "someone", force: false });
      await lab.addService("c2/default/mine", { pods: 1 });
      await exportIn("c2", "mine");
      await waitFor("c2's mine exported", async () => ((await conditions("c2", "mine")).Ready === "True/Exported" ? true : undefined));
      type Ev = { reason?: string; type?: string; message?: string; involvedObject?: { kind?: string; name?: string } };
      const ev = await waitFor("a Warning Event on c1's own ServiceImport", async () =>
        (await cl("c1").list<Ev>(kube.R.event, NS, { fieldSelector: "involvedObject.name=mine" })).items.find((e) => e.reason === "ForeignServiceImport"),
      );
      assert.equal(ev.type, "Warning");
      assert.equal(ev.involvedObject?.kind, "ServiceImport");
      assert.match(ev.message ?? "", /exported by c2/);
      const theirs = await cl("c1").get<{ metadata: { labels?: Record<string, string>; managedFields?: { manager: string }[] }; spec: { ips?: string[] } }>(
        kube.R.serviceImport,
        NS,
        "mine",
      );
      assert.equal(theirs.metadata.labels, undefined);
      assert.equal(theirs.spec.ips, undefined);
      assert.deepEqual([...new Set(theirs.metadata.managedFields?.map((f) => f.manager))], ["someone"]);
      assert.deepEqual(await slicesOf(cl("c1"), NS, "multicluster.kubernetes.io/service-name=mine"), []);
      await cl("c1").delete(kube.R.serviceImport, NS, "mine");
      const ours = await waitFor("Causeway's import in its place", async () => {
        const x = await serviceImport("c1", "mine");
        return x?.spec.ips?.length ? x : undefined;
      });
      assert.match(ours.spec.ips?.[0] ?? "", /^243\./);
      await unexportIn("c2", "mine");
      await waitFor("gone with the export", async () => ((await serviceImport("c1", "mine")) ? undefined : true));
    });

    it("unexport: the import stays while one cluster still exports, and goes with the last", async () => {
      await unexportIn("c2", "aa");
      await waitFor("only c1 left", async () =>
        (await serviceImport("c2", "aa"))?.status?.clusters?.map((x) => x.cluster).join() === "c1" ? true : undefined,
      );
      await unexportIn("c1", "aa");
      const t0 = performance.now();
      for (const c of ["c1", "c2"]) await waitFor(`import gone in ${c}`, async () => ((await serviceImport(c, "aa")) === undefined ? true : undefined));
      console.log(`# kube: ServiceImports gone ${Math.round(performance.now() - t0)} ms after the last ServiceExport`);
      const slices = await clients.c2?.list(kube.R.endpointSlice, NS, { labelSelector: "multicluster.kubernetes.io/service-name=aa" });
      assert.equal(slices?.items.length, 0);
      assert.equal(await dig(CLIENT, fqdn("aa")), "ENOTFOUND");
    });

    it("causeway diagnose over the API: the deployment is whole; the ExternalName export is found, with its reason", async () => {
      const dep = await cliRun(["diagnose", "deployment", "--lab", NAME]);
      assert.equal(dep.exitCode, 0, dep.stdout + dep.stderr);
      assert.match(dep.stdout, /✓ Deployment causeway-lighthouse[\s\S]*✓ lighthouse DNS Service/);
      const sd = await cliRun(["diagnose", "service-discovery", "--lab", NAME]);
      assert.equal(sd.exitCode, 1, sd.stdout + sd.stderr);
      assert.match(sd.stdout, /✗ ServiceExport default\/ext: not valid: UnsupportedServiceType/);
      assert.match(sd.stdout, /✓ CoreDNS forwards clusterset\.local/);
      const archive = join(lab.state.dir, "gather-kube.tar.gz");
      const g = await cliRun(["gather", "--kubeconfig", lab.state.kube?.apis.c1?.kubeconfig ?? "", "--context", "c1", "-o", archive]);
      assert.equal(g.exitCode, 0, g.stdout + g.stderr);
      const files = (await new ProcessRunner(30_000).run("tar", ["tzf", archive])).stdout;
      for (const f of ["c1/version.json", "c1/serviceexports.json", "c1/gateways.json"]) assert.match(files, new RegExp(f.replace(".", "\\.")));
      const secrets = labCredentials(lab.state.dir);
      assert.ok(secrets.length >= 3, `credentials found in the lab: ${secrets.length}`);
      assert.deepEqual(await credentialsIn(archive, secrets), []);
    });

    it("causeway uninstall leaves nothing of Causeway's in the API server, on the nodes or at the broker; a second uninstall says so", async () => {
      const kubeconfig = lab.state.kube?.apis.c2?.kubeconfig ?? "";
      // From the broker's namespace, as the lab runs join: the broker is reached inside the lab only.
      const inLab = (args: string[]) =>
        new ProcessRunner(180_000).run("ip", ["netns", "exec", lab.state.broker.ns, process.execPath, join(REPO_ROOT, "cli/src/main.ts"), ...args], {
          allowFailure: true,
        });
      const r = await inLab(["uninstall", "--kubeconfig", kubeconfig, "--context", "c2", "--yes"]);
      // uninstall returns once the node-cleanup pods have run and Causeway's pods are gone.
      assert.equal(r.exitCode, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /cluster c2 left the broker/);
      const api = cl("c2");
      const found: string[] = [];
      const gone = async (what: string, f: () => Promise<unknown>) => {
        const ok = await f().then(
          () => false,
          (err: unknown) => err instanceof kube.KubeNotFoundError,
        );
        if (!ok) found.push(what);
      };
      await gone("namespace causeway-system", () => api.get(kube.R.namespace, undefined, "causeway-system"));
      // The test's own ServiceExports are still there: the MCS CRDs Causeway installed stay while they use them.
      const mcsCrds = MCS_CRDS.map((d) => `${d.plural}.${d.group}`);
      assert.match(
        r.stdout,
        /kept the MCS CRDs Causeway installed \(serviceexports\.multicluster\.x-k8s\.io, serviceimports\.multicluster\.x-k8s\.io\): [1-9]\d* ServiceExport\(s\)/,
      );
      const left = (await api.list<{ metadata: kube.ObjectMeta }>(kube.R.serviceExport, NS)).items;
      assert.ok(left.length > 0, "the user's ServiceExports are left alone");
      for (const rt of [kube.R.crd, kube.R.clusterRole, kube.R.clusterRoleBinding]) {
        const items = (await api.list<{ metadata: kube.ObjectMeta }>(rt, undefined, { labelSelector: "app.kubernetes.io/part-of=causeway" })).items;
        found.push(...items.filter((o) => !(rt === kube.R.crd && mcsCrds.includes(o.metadata.name))).map((o) => `${rt.kind} ${o.metadata.name}`));
      }
      const labelled = (await api.list<{ metadata: kube.ObjectMeta }>(kube.R.node, undefined, { labelSelector: "causeway.io/gateway" })).items;
      found.push(...labelled.map((n) => `gateway label on ${n.metadata.name}`));
      const corefile = (await api.get<{ data?: { Corefile?: string } }>(kube.R.configMap, "kube-system", "coredns")).data?.Corefile ?? "";
      if (corefile.includes("# causeway-start")) found.push("the CoreDNS block");
      for (const n of lab.cluster("c2").spec.nodes) found.push(...(await nodeTrace(lab, `c2/${n.name}`, n.wgInterface)));
      const admin = lab.admin();
      try {
        found.push(...(await admin.list("")).records.filter((x) => x.clusterId === "c2").map((x) => `broker ${x.kind} ${x.name}`));
      } finally {
        admin.close();
      }
      assert.deepEqual(found, [], "nothing of Causeway's is left");
      // Once nothing uses them, the next uninstall takes the MCS CRDs too; the one after finds nothing.
      for (const se of left) await api.delete(kube.R.serviceExport, NS, se.metadata.name);
      const mcsGone = await inLab(["uninstall", "--kubeconfig", kubeconfig, "--context", "c2", "--yes"]);
      assert.equal(mcsGone.exitCode, 0, mcsGone.stderr);
      assert.match(mcsGone.stdout, /deleted the MCS CRDs Causeway installed: nothing uses them any more/);
      // The API server finalizes a deleted CRD once its objects are cleaned up.
      for (const n of mcsCrds) await until(`${n} deleted`, async () => ((await api.find(kube.R.crd, undefined, n)) === undefined ? true : undefined), 30_000);
      const again = await inLab(["uninstall", "--kubeconfig", kubeconfig, "--context", "c2", "--yes"]);
      assert.equal(again.exitCode, 0, again.stderr);
      assert.match(again.stdout, /Causeway is not installed on this cluster; nothing to remove/);
    });
  },
);

type McsSlice = {
  metadata: kube.ObjectMeta & { ownerReferences?: { kind: string; name: string; uid: string }[] };
  endpoints?: { addresses: string[] }[];
  ports?: { port: number }[];
};

/** The EndpointSlices of `cluster` in `ns` that `selector` picks. */
async function slicesOf(client: kube.KubeClient | undefined, ns: string, selector: string): Promise<McsSlice[]> {
  return (await client?.list<McsSlice>(kube.R.endpointSlice, ns, { labelSelector: selector }))?.items ?? [];
}

/** Every endpoint address the slices hold, sorted. */
const addressesOf = (xs: McsSlice[]): string[] => xs.flatMap((x) => (x.endpoints ?? []).flatMap((e) => e.addresses)).sort();

/**
 * c1's MCS EndpointSlice of `name` exported by c2: labelled (one, source c2, managed by Causeway),
 * holding c2's endpoints on their target ports (what c2's own slices say), owned by c1's ServiceImport.
 */
async function assertMcsSlices(clients: Record<string, kube.KubeClient | undefined>, ns: string, name: string): Promise<void> {
  const [slice, ...more] = await slicesOf(clients.c1, ns, `multicluster.kubernetes.io/service-name=${name}`);
  assert.ok(slice);
  assert.equal(more.length, 0);
  const labels = slice.metadata.labels ?? {};
  assert.equal(labels["multicluster.kubernetes.io/source-cluster"], "c2");
  const manager = labels["endpointslice.kubernetes.io/managed-by"];
  assert.ok(manager && manager !== "endpointslice-controller.k8s.io");
  const own = await slicesOf(clients.c2, ns, `kubernetes.io/service-name=${name}`);
  assert.ok(addressesOf(own).length > 0);
  assert.deepEqual(addressesOf([slice]), addressesOf(own));
  assert.deepEqual(
    slice.ports?.map((p) => p.port),
    own[0]?.ports?.map((p) => p.port),
  );
  const imported = await clients.c1?.get<{ metadata: kube.ObjectMeta }>(kube.R.serviceImport, ns, name);
  assert.deepEqual(
    slice.metadata.ownerReferences?.map((r) => [r.kind, r.name, r.uid]),
    [["ServiceImport", name, imported?.metadata.uid]],
  );
}
