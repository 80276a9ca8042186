import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { describe, it } from "node:test";
import { REPO_ROOT } from "./paths.ts";
import { linesBetween } from "./logs.ts";

/** Lines as a component writes them: Causeway's own logger, in a process of its own (it logs to standard output). */
function componentLines(msgs: readonly string[]): string[] {
  const script = `const { createLogger } = await import("@causeway/common"); const log = createLogger("gateway", { cluster: "c1" });
    for (const m of ${JSON.stringify(msgs)}) { log.info(m); await new Promise((r) => setTimeout(r, 30)); }`;
  return execFileSync(process.execPath, ["--input-type=module", "-e", script], { cwd: REPO_ROOT, encoding: "utf8" }).trim().split("\n");
}

describe("linesBetween", () => {
  it("keeps the JSON lines within the window, a container log's CRI prefix stripped; others left out", () => {
    const text = [
      '{"level":30,"time":1000,"msg":"before"}',
      '2026-12-07T07:00:00.000000000Z stderr F {"level":30,"time":2000,"msg":"in, container"}',
      '{"level":40,"time":3000,"msg":"in, last"}',
      '{"level":30,"time":3001,"msg":"after"}',
      "not json at all",
      '{"level":30,"msg":"no time"}',
      '{"level":30,"time":"not a time","msg":"bad time"}',
      "{broken",
    ].join("\n");
    assert.deepEqual(
      linesBetween(text, 2000, 3000).map((l) => (JSON.parse(l) as { msg: string }).msg),
      ["in, container", "in, last"],
    );
    assert.deepEqual(linesBetween(text, 5000, 6000), []);
  });

  it("reads the times Causeway's components write (their logger's own format), in a process log and a container log", () => {
    const lines = componentLines(["first", "second", "third"]);
    assert.equal(lines.length, 3, lines.join("\n"));
    const times = lines.map((l) => Date.parse((JSON.parse(l) as { time: string }).time));
    const [t0 = 0, t1 = 0, t2 = 0] = times;
    assert.ok(t0 < t1 && t1 < t2, `times ${lines.join(" ")}`);
    const msgs = (t: string) => linesBetween(t, t1, t2).map((l) => (JSON.parse(l) as { msg: string }).msg);
    assert.deepEqual(msgs(lines.join("\n")), ["second", "third"]);
    const cri = lines.map((l) => `2026-12-07T07:00:00.000000000Z stdout F ${l}`).join("\n");
    assert.deepEqual(msgs(cri), ["second", "third"]);
  });
});
