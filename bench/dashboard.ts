/**
 * The dashboard with a clusterset of 50 clusters and 1,000 exports (issue 24's targets: first
 * render ≤ 1 s in headless Chromium, an update on the page ≤ 200 ms after the server has it, the
 * page's script ≤ 300 KB gzipped, the dashboard process ≤ 150 MiB). Prints the figures; not a test.
 * Needs /usr/bin/chromium-headless-shell. `npm run bench:dashboard [-- --rounds 5]`
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { gzipSync } from "node:zlib";
import { dashboardPage } from "@causeway/cli";
import { REPO_ROOT } from "@causeway/lab";
import { launch } from "puppeteer-core";

const rounds = Number(process.argv[process.argv.indexOf("--rounds") + 1] || 5);
const page = await dashboardPage();
console.log(`page script: ${Math.round(page.js.length / 1024)} KB, ${Math.round(gzipSync(page.js).length / 1024)} KB gzipped`);

const server = spawn(process.execPath, [join(REPO_ROOT, "bench/dashboard-server.ts")], {
  stdio: ["pipe", "pipe", "inherit"],
  env: { ...process.env, CLUSTERS: "50", EXPORTS: "1000" },
});
const lines = createInterface({ input: server.stdout })[Symbol.asyncIterator]();
const next = async () => String((await lines.next()).value ?? "");
const url = (await next()).replace(/^url /, "");
const browser = await launch({ executablePath: "/usr/bin/chromium-headless-shell", headless: true, args: ["--no-sandbox", "--disable-gpu"] });
try {
  const firsts: number[] = [];
  const updates: number[] = [];
  let broken = false;
  for (let r = 0; r < rounds; r++) {
    const tab = await browser.newPage();
    await tab.setViewport({ width: 1400, height: 1000 });
    const t0 = performance.now();
    await tab.goto(url);
    await tab.waitForFunction(`document.querySelectorAll("[data-cluster]").length === 50 && document.querySelector('[data-services="1000"]') !== null`, {
      timeout: 30_000,
    });
    firsts.push(Math.round(performance.now() - t0));
    server.stdin.write("flip\n");
    const changedAt = Number((await next()).split(" ")[1]);
    broken = !broken;
    const want = broken ? "error" : "connected";
    // The pair's status in the cable list (a connected cable is listed only in the full list: absent then).
    await tab.waitForFunction(
      `(document.querySelector('[data-cable="c7/n0→c8/n0"]')?.getAttribute("data-status") ?? "connected") === ${JSON.stringify(want)}`,
      { timeout: 10_000, polling: "mutation" },
    );
    updates.push(Date.now() - changedAt);
    await tab.close();
  }
  const rss = Number(readFileSync(`/proc/${server.pid}/status`, "utf8").match(/VmRSS:\s+(\d+)/)?.[1] ?? 0) / 1024;
  const stat = (xs: number[]) => `median ${[...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]} ms (${xs.join(", ")})`;
  console.log(`50 clusters, 2,450 cables, 1,000 exports, ${rounds} rounds:`);
  console.log(`  first render: ${stat(firsts)}`);
  console.log(`  an update on the page after the server had it: ${stat(updates)}`);
  console.log(`  dashboard process: ${Math.round(rss)} MiB resident`);
} finally {
  await browser.close();
  server.kill();
}
