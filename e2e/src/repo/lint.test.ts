/**
 * The linter enforces the layering (docs/architecture.md): these cases run the tree's own ESLint
 * configuration, so a rule that stops working fails here. No root, no processes: plain ESLint.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { ESLint } from "eslint";
import { REPO_ROOT } from "@causeway/lab";

let eslint: ESLint;
/** The messages the tree's configuration gives `code` as if it were the file `path`. */
async function lint(path: string, code: string): Promise<string[]> {
  const [r] = await eslint.lintText(code, { filePath: join(REPO_ROOT, path) });
  return (r?.messages ?? []).map((m) => `${m.ruleId ?? "parse"}: ${m.message}`);
}

describe("lint: layering, cycles, file budget", { timeout: 120_000 }, () => {
  before(() => {
    eslint = new ESLint({ cwd: REPO_ROOT, ignore: false });
  });

  it("the tree itself passes (first: the cases below lint other text under real files' names)", async () => {
    const results = await eslint.lintFiles(["api/src", "common/src", "cli/src/labs.ts", "lab/src/index.ts"].map((p) => join(REPO_ROOT, p)));
    const errors = results.flatMap((r) => r.messages.filter((m) => m.severity === 2).map((m) => `${r.filePath}:${m.line} ${m.ruleId}: ${m.message}`));
    assert.deepEqual(
      errors.filter((e) => !e.includes("/testdata/lint/")),
      [],
    );
  });

  it("a component importing another component is an error naming the arrow and the undeclared dependency", async () => {
    const got = await lint("broker/src/index.ts", 'import { CableDrivers } from "@causeway/gateway";\n\nexport const drivers = CableDrivers;\n');
    assert.ok(
      got.some((m) => /causeway\/layering: broker may not import @causeway\/gateway \(broker may import: api, common\)/.test(m)),
      got.join("\n"),
    );
    assert.ok(
      got.some((m) => /@causeway\/gateway is not declared in broker\/package.json/.test(m)),
      got.join("\n"),
    );
  });

  it("deep imports, relative imports into another workspace, and the CLI loading the lab outside its door are errors", async () => {
    const deep = await lint("gateway/src/index.ts", 'export { createLogger } from "@causeway/common/src/log.ts";\n');
    assert.ok(
      deep.some((m) => /deep import '@causeway\/common\/src\/log.ts'/.test(m)),
      deep.join("\n"),
    );
    const exported = await lint("gateway/src/index.ts", 'export { BrokerConnection } from "@causeway/common/broker-client";\n');
    assert.ok(!exported.some((m) => /deep import/.test(m)), `a subpath common's package.json exports is an entry point: ${exported.join("\n")}`);
    const relative = await lint("bench/broker.ts", 'export { Lab } from "../lab/src/lab.ts";\n');
    assert.ok(
      relative.some((m) => /relative import '..\/lab\/src\/lab.ts' leaves bench\/ for lab\//.test(m)),
      relative.join("\n"),
    );
    const cli = await lint("cli/src/show/command.ts", 'import { Lab } from "@causeway/lab";\n\nexport const open = () => Lab.open();\n');
    assert.ok(
      cli.some((m) => /the CLI reaches @causeway\/lab only through cli\/src\/labs.ts/.test(m)),
      cli.join("\n"),
    );
  });

  it("an import cycle is an error", async () => {
    const [r] = await eslint.lintFiles([join(REPO_ROOT, "broker/src/testdata/lint/cycle-a.ts")]);
    const got = (r?.messages ?? []).map((m) => `${m.ruleId}: ${m.message}`);
    assert.ok(
      got.some((m) => m.startsWith("import-x/no-cycle")),
      got.join("\n"),
    );
  });

  it("a file over 600 lines is an error, over 300 a warning", async () => {
    const body = (n: number) => Array.from({ length: n }, (_, i) => `export const v${i} = ${i};`).join("\n") + "\n";
    const long = await eslint.lintText(body(601), { filePath: join(REPO_ROOT, "api/src/index.ts") });
    assert.ok(long[0]?.messages.some((m) => m.ruleId === "budget/max-lines" && m.severity === 2));
    const mid = await eslint.lintText(body(301), { filePath: join(REPO_ROOT, "api/src/index.ts") });
    assert.ok(mid[0]?.messages.some((m) => m.ruleId === "max-lines" && m.severity === 1));
    assert.ok(!mid[0]?.messages.some((m) => m.ruleId === "budget/max-lines"));
  });

  it("an eslint-disable comment that disables nothing is an error", async () => {
    const got = await lint("api/src/index.ts", "// eslint-disable-next-line @typescript-eslint/no-explicit-any\nexport const x = 1;\n");
    assert.ok(
      got.some((m) => /Unused eslint-disable directive/.test(m)),
      got.join("\n"),
    );
  });
});
