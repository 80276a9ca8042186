/**
 * The first run's failure modes (issue: first run): a module proxy that cannot be reached fails
 * the build step fast, printing the step, the last lines of its log (naming what it tried to
 * fetch) and the log's path, exit non-zero; a cache directory that cannot be written is named
 * with the variable that moves it. Scratch caches only; the user's cache is not touched.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Lab, REPO_ROOT } from "@causeway/lab";

const hasGo = spawnSync("sh", ["-c", "command -v go"]).status === 0;
const hasScript = spawnSync("sh", ["-c", "command -v script"]).status === 0;
/** The network namespaces whose names start with the lab's prefix. */
const namespacesOf = (lab: string): string[] =>
  spawnSync("ip", ["netns", "list"], { encoding: "utf8" })
    .stdout.split("\n")
    .map((l) => l.split(" ")[0] ?? "")
    .filter((n) => n.startsWith(`${lab}-`));

describe("first run: steps a person can follow, failures that say what and where", () => {
  it(
    "an unreachable module proxy: the CoreDNS step fails within a minute, showing the module it fetched and the log's path",
    { skip: hasGo ? false : "needs Go" },
    async () => {
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
        // The lab that came up beside the failed build is gone: nothing is left behind.
        assert.ok(!Lab.list().includes("cwfail"), "the lab was removed");
        assert.deepEqual(namespacesOf("cwfail"), [], "no namespace of the lab is left");
      } finally {
        await Lab.down("cwfail");
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

  it("a step shows a live spinner on a terminal and one plain line otherwise", { skip: hasScript ? false : "needs script(1)" }, () => {
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
  });

  it(
    "steps side by side: one spinner line shows both; the first to fail stops the other's commands, undo runs, exit 1",
    { skip: hasScript ? false : "needs script(1)" },
    () => {
      const dir = mkdtempSync(join(tmpdir(), "cw-first-together-"));
      try {
        const file = join(dir, "together.ts");
        const marker = join(dir, "undone");
        writeFileSync(
          file,
          [
            `import { writeFileSync } from "node:fs";`,
            `import { command, together } from ${JSON.stringify(join(REPO_ROOT, "scripts/steps.ts"))};`,
            `await together(`,
            `  { label: "slow", run: () => command("sleep", ["41.7"]) },`,
            `  { label: "bad", run: async () => { await new Promise((r) => setTimeout(r, 1500)); throw new Error("boom"); } },`,
            `  async () => writeFileSync(${JSON.stringify(marker)}, "x"),`,
            `);`,
          ].join("\n"),
        );
        const t0 = Date.now();
        const r = spawnSync("script", ["-qfec", `${process.execPath} ${file}`, "/dev/null"], {
          encoding: "utf8",
          timeout: 30_000,
          env: { ...process.env, CAUSEWAY_CACHE: dir },
        });
        assert.ok(Date.now() - t0 < 15_000, `took ${Date.now() - t0} ms: the slow step was not stopped`);
        assert.match(r.stdout, /\r⠋ slow 0 s… · bad 0 s…/, "both steps on the spinner line");
        assert.match(r.stdout, /✗ bad \(1\.\d s\)/);
        assert.match(r.stdout, /✗ slow \(1\.\d s\)/, "the other step's command stopped");
        assert.match(r.stdout, /boom/);
        assert.ok(existsSync(marker), "undo ran");
        assert.equal(spawnSync("pgrep", ["-f", "sleep 41.7"]).status, 1, "no command left running");
      } finally {
        spawnSync("pkill", ["-f", "sleep 41.7"]);
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  it(
    "npm run demo on a terminal: one screen of steps with their times before the show all tables, no tool output, the total at the end",
    { skip: hasScript ? false : "needs script(1)" },
    async () => {
      const lab = "cwdemo";
      try {
        const r = spawnSync("script", ["-qfec", "npm run demo", "/dev/null"], {
          cwd: REPO_ROOT,
          encoding: "utf8",
          timeout: 300_000,
          env: { ...process.env, CAUSEWAY_DEMO_LAB: lab },
        });
        assert.equal(r.status, 0, r.stdout);
        const out = r.stdout.replace(/\r\n/g, "\n");
        const before = out.slice(0, out.indexOf("=== causeway show all"));
        assert.ok(before.length > 0, out);
        // What a person sees: each \r redraws the line, so a line shows what follows its last \r.
        const screen = before
          .split("\n")
          .map((l) => l.slice(l.lastIndexOf("\r") + 1).replace(/\x1b\[K/g, ""))
          .filter((l) => l.trim());
        assert.ok(screen.length <= 24, `${screen.length} lines before the tables:\n${screen.join("\n")}`);
        for (const l of screen) assert.match(l, /^(> |✓ .* \((\d+\.\d|\d+) s\)|✓ (system packages|npm dependencies) \()/, `not a step line: ${l}`);
        for (const s of ["Go-built tools: coredns", `lab "${lab}"`, "cluster DNS"])
          assert.ok(
            screen.some((l) => l.includes(s)),
            `step ${s}`,
          );
        assert.doesNotMatch(out, /go: downloading|Get:\d|Reading package lists/);
        assert.match(out, /=== ✓ the clusterset works in \d+ min \d+ s/);
      } finally {
        await Lab.down(lab);
      }
    },
  );
});
