/**
 * The first run's failure modes (issue: first run): a module proxy that cannot be reached fails
 * the build step fast, printing the step, the last lines of its log (naming what it tried to
 * fetch) and the log's path, exit non-zero; a cache directory that cannot be written is named
 * with the variable that moves it. Scratch caches only; the user's cache is not touched.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { REPO_ROOT } from "@causeway/lab";

const hasGo = spawnSync("sh", ["-c", "command -v go"]).status === 0;

describe("first run: failures say what and where", () => {
  it(
    "an unreachable module proxy: the CoreDNS step fails within a minute, showing the module it fetched and the log's path",
    { skip: hasGo ? false : "needs Go" },
    () => {
      const cache = mkdtempSync(join(tmpdir(), "cw-first-fail-"));
      try {
        const t0 = Date.now();
        const r = spawnSync(process.execPath, ["scripts/demo.ts"], {
          cwd: REPO_ROOT,
          encoding: "utf8",
          env: { ...process.env, CAUSEWAY_CACHE: cache, GOPROXY: "http://127.0.0.1:9", GOSUMDB: "off", CAUSEWAY_DEMO_LAB: "cwfail" },
          timeout: 120_000,
        });
        assert.ok(Date.now() - t0 < 60_000, `took ${Date.now() - t0} ms`);
        assert.equal(r.status, 1, r.stdout + r.stderr);
        assert.match(r.stdout, /✗ Go-built tools: coredns \(/);
        assert.match(r.stderr, /last lines of the log:[\s\S]*github\.com\/coredns\/coredns[\s\S]*127\.0\.0\.1:9/);
        assert.match(r.stderr, new RegExp(`full log: ${cache}/logs/run-.*\\.log`));
      } finally {
        rmSync(cache, { recursive: true, force: true });
      }
    },
  );

  it("a cache directory that cannot be written: named, with CAUSEWAY_CACHE, exit 2 — from setup, the demo and a build script", () => {
    const dir = mkdtempSync(join(tmpdir(), "cw-first-ro-"));
    const notADir = join(dir, "file");
    writeFileSync(notADir, "");
    try {
      for (const argv of [
        ["bash", "scripts/setup.sh"],
        [process.execPath, "scripts/demo.ts"],
        ["bash", "lab/coredns/build.sh"],
      ]) {
        const r = spawnSync(argv[0] ?? "", argv.slice(1), {
          cwd: REPO_ROOT,
          encoding: "utf8",
          env: { ...process.env, CAUSEWAY_CACHE: notADir },
          timeout: 60_000,
        });
        assert.equal(r.status, 2, `${argv.join(" ")}: ${r.stdout}${r.stderr}`);
        assert.match(r.stderr, new RegExp(`cache directory ${notADir} is not writable; set CAUSEWAY_CACHE to a writable directory`), argv.join(" "));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it(
    "a step shows a live spinner on a terminal and one plain line otherwise",
    { skip: spawnSync("sh", ["-c", "command -v script"]).status === 0 ? false : "needs script(1)" },
    () => {
      const dir = mkdtempSync(join(tmpdir(), "cw-first-tty-"));
      try {
        const file = join(dir, "step.ts");
        writeFileSync(
          file,
          `import { step } from ${JSON.stringify(join(REPO_ROOT, "scripts/steps.ts"))};\nawait step("waiting", () => new Promise((r) => setTimeout(r, 400)));\n`,
        );
        const tty = spawnSync("script", ["-qfec", `${process.execPath} ${file}`, "/dev/null"], { encoding: "utf8", timeout: 30_000 });
        assert.match(tty.stdout, /\r⠋ waiting 0 s…/, "a spinner frame on a terminal");
        assert.match(tty.stdout, /\r✓ waiting \(0\.\d s\)/);
        const plain = spawnSync(process.execPath, [file], { encoding: "utf8", timeout: 30_000 });
        assert.match(plain.stdout, /^✓ waiting \(0\.\d s\)\n$/, "one plain line in a log");
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
