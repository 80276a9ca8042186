/** Usage errors through the real CLI: a misspelt flag exits 2 naming the closest flag; a bad value exits 2 naming the flag. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, it } from "node:test";

const CLI = join(import.meta.dirname, "main.ts");
const causeway = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", timeout: 30_000 });

describe("usage errors", () => {
  it("a misspelt flag: exit 2, the closest flag named", () => {
    for (const [args, closest] of [
      [["join", "broker-info.subm", "--natport", "4501"], "--nattport"],
      [["join", "broker-info.subm", "--health-check-max-packet-loss", "3"], "--health-check-max-packet-loss-count"],
      [["deploy-broker", "--image-overide", "broker=b:1"], "--image-override"],
      [["lab", "up", "--clusterz", "3"], "--clusters"],
    ] as const) {
      const r = causeway(...args);
      assert.equal(r.status, 2, `${args.join(" ")}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, new RegExp(`unknown option '${args.find((a) => a.startsWith("--"))}'[\\s\\S]*Did you mean ${closest}\\?`));
    }
  });

  it("a bad value: exit 2 naming the flag; an unknown image component names the components", () => {
    const port = causeway("join", "broker-info.subm", "--nattport", "70000");
    assert.equal(port.status, 2, port.stderr);
    assert.match(port.stderr, /--nattport/);
    const image = causeway("join", "nonexistent-broker-info.subm", "--image-override", "operator=x:1");
    assert.equal(image.status, 2, image.stderr);
    assert.match(image.stderr, /--image-override operator=x:1: unknown component "operator"; components: gateway, route-agent, lighthouse, broker/);
  });
});
