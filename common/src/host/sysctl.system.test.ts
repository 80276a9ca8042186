/**
 * ProcSysctl where /proc/sys is read-only (a container that is not privileged): writes go to the
 * node's /proc/sys/net mounted at the fallback, or fail naming the mount to add. The read-only
 * /proc/sys is a read-only bind mount in a mount namespace of its own (unshare, root).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { promisify } from "node:util";

const root = process.getuid?.() === 0;
const SYSCTL = join(import.meta.dirname, "sysctl.ts");

describe("ProcSysctl with a read-only /proc/sys", { skip: root ? false : "needs root (unshare, mount)" }, () => {
  const dir = mkdtempSync(join(tmpdir(), "causeway-sysctl-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** A tree with net/ipv4/ip_forward = 0 under `name`. */
  const tree = (name: string) => {
    mkdirSync(join(dir, name, "net/ipv4"), { recursive: true });
    writeFileSync(join(dir, name, "net/ipv4/ip_forward"), "0\n");
    return join(dir, name);
  };
  /** ensure(net.ipv4.ip_forward=1) with `ro` bind-mounted read-only, in a mount namespace of its own. */
  const ensureReadOnly = async (ro: string, fallback: string) => {
    const script = `const { ProcSysctl } = await import(${JSON.stringify(SYSCTL)}); await new ProcSysctl(${JSON.stringify(ro)}, ${JSON.stringify(fallback)}).ensure("net.ipv4.ip_forward", "1").then(() => console.log("ok"), (e) => console.log(e.name + ": " + e.message));`;
    const { stdout } = await promisify(execFile)("unshare", [
      "--mount",
      "--propagation",
      "private",
      "sh",
      "-c",
      `mount --bind ${ro} ${ro} && mount -o remount,bind,ro ${ro} && exec "$0" --input-type=module -e "$1"`,
      process.execPath,
      script,
    ]);
    return stdout.trim();
  };

  it("writes through the node's /proc/sys/net mounted at the fallback", async () => {
    const proc = tree("proc-a");
    const host = tree("host-a");
    assert.equal(await ensureReadOnly(proc, host), "ok");
    assert.equal(readFileSync(join(host, "net/ipv4/ip_forward"), "utf8").trim(), "1");
    assert.equal(readFileSync(join(proc, "net/ipv4/ip_forward"), "utf8").trim(), "0");
  });

  it("without the mount: a HostStateError naming the key, the mount to add and the alternative", async () => {
    const proc = tree("proc-b");
    const out = await ensureReadOnly(proc, join(dir, "absent"));
    assert.match(out, /^HostStateError: cannot set net\.ipv4\.ip_forward=1: .* is read-only in this container \(EROFS\)/);
    assert.match(out, /mount it \(hostPath, as causeway join's DaemonSets do\), or set net\.ipv4\.ip_forward=1 on the node/);
  });
});
