/**
 * The dashboard page in a real browser (Debian's headless Chromium, driven by puppeteer-core),
 * its server fed in memory: what the page shows, how fast a change reaches it, names holding
 * HTML shown as text. Screenshots of each step go to $CAUSEWAY_SCREENSHOTS (default: a temporary
 * directory, printed). A clusterset of 50 clusters and 1,000 exports: bench/dashboard.ts.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "puppeteer-core";
import { dashboardPage } from "./build.ts";
import { MemoryFeed } from "./feed.ts";
import { Dashboard, type DashPage } from "./server.ts";
import { syntheticClusterset } from "./synthetic.ts";

export const CHROMIUM = "/usr/bin/chromium-headless-shell";
const skip = existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is missing (apt-get install chromium-headless-shell)`;
const SHOTS = process.env.CAUSEWAY_SCREENSHOTS ?? mkdtempSync(join(tmpdir(), "causeway-dashboard-"));

describe("dashboard page in headless Chromium (in-memory feed)", { skip }, () => {
  let browser: Browser;
  /** A value computed in the page (the expression is the page's JavaScript: this file is not compiled with the DOM's types). */
  const inPage = async <T>(tab: Page, expr: string): Promise<T> => (await tab.evaluate(expr)) as T;
  let page: DashPage;
  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    console.log(`# screenshots in ${SHOTS}`);
    page = await dashboardPage();
    const { launch } = await import("puppeteer-core");
    browser = await launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox", "--disable-gpu"] });
  });
  after(async () => {
    await browser?.close();
  });

  it("3 clusters with their cables connected; a cable turning to error shows within 1 s (text, not colour alone); a service named like a script shows as text, nothing runs", async () => {
    const feed = new MemoryFeed();
    let failing = false;
    const set = (names: string[]) =>
      feed.set(
        syntheticClusterset(3, names.length, { status: (i, j) => (failing && i === 1 && j === 2 ? "error" : "connected"), serviceName: (k) => names[k] ?? "" }),
      );
    set([]);
    const d = await Dashboard.start({ listen: "127.0.0.1:0", feed, page });
    const tab = await browser.newPage();
    const dialogs: string[] = [];
    tab.on("dialog", (dl) => {
      dialogs.push(dl.message());
      void dl.dismiss();
    });
    try {
      await tab.setViewport({ width: 1400, height: 1000 });
      await tab.goto(d.url);
      await tab.waitForFunction(
        `document.querySelectorAll("[data-cluster]").length === 3 && document.querySelectorAll('[data-cable][data-status="connected"]').length === 6`,
        {
          timeout: 5000,
        },
      );
      assert.deepEqual(await inPage<string[]>(tab, `[...document.querySelectorAll("[data-cluster]")].map((r) => r.getAttribute("data-cluster"))`), [
        "c1",
        "c2",
        "c3",
      ]);
      await tab.screenshot({ path: join(SHOTS, "1-three-clusters.png") });

      failing = true;
      const t0 = performance.now();
      set([]);
      await tab.waitForSelector('[data-cable="c1/n0→c2/n0"][data-status="error"]', { timeout: 1000 });
      const ms = Math.round(performance.now() - t0);
      assert.match(await inPage<string>(tab, `document.querySelector('[data-cable="c1/n0→c2/n0"] .status').textContent`), /✖ error/);
      console.log(`# a cable in error on the page ${ms} ms after the server had it`);
      await tab.screenshot({ path: join(SHOTS, "2-cable-error.png") });

      const hostile = `<img src=x onerror="alert(1)"><script>alert(2)</script>`;
      set([hostile]);
      await tab.waitForSelector("[data-service]", { timeout: 1000 });
      const shown = await inPage<string>(tab, `document.querySelector("[data-service] .pick").textContent`);
      assert.equal(shown, `ns0/${hostile}`, "the name is shown as it is, as text");
      assert.equal(await inPage<number>(tab, `document.querySelectorAll("main img, main script").length`), 0, "no element made from the name");
      await new Promise((r) => setTimeout(r, 200));
      assert.deepEqual(dialogs, [], "nothing ran");
      await tab.screenshot({ path: join(SHOTS, "3-hostile-name.png") });
    } finally {
      await tab.close();
      await d.close();
    }
  });

  it("with a token: the page asks for it, sends it, and shows the clusterset; the token is in no URL it requested", async () => {
    const token = "page-token-for-the-browser-test";
    const feed = new MemoryFeed();
    feed.set(syntheticClusterset(2, 0));
    const d = await Dashboard.start({ listen: "127.0.0.1:0", token, feed, page });
    const tab = await browser.newPage();
    const urls: string[] = [];
    tab.on("request", (r) => void urls.push(r.url()));
    try {
      await tab.goto(d.url);
      await tab.waitForSelector("#token", { timeout: 5000 });
      assert.equal(await inPage<number>(tab, `document.querySelectorAll("[data-cluster]").length`), 0, "nothing shown without the token");
      await tab.type("#token", token);
      await tab.click(".token button");
      await tab.waitForFunction(`document.querySelectorAll("[data-cluster]").length === 2`, { timeout: 5000 });
      await tab.screenshot({ path: join(SHOTS, "5-token.png") });
      assert.ok(urls.length > 0 && urls.every((u) => !u.includes(token)), urls.join(" "));
    } finally {
      await tab.close();
      await d.close();
    }
  });
});
