/**
 * Lab e2e, the dashboard (issue 24) in a real browser: `causeway dashboard`'s server following
 * a 3-cluster lab's broker, the page in Debian's headless Chromium (puppeteer-core). The clusters
 * and their cables show connected; c2's gateway loses its link → its cables show in error within
 * the health-check time plus 1 s, and connected again after; a service exported from c1 and c2
 * shows answered by both; c1's pods scaled to 0 → by c2 alone. A screenshot of each step goes to
 * $CAUSEWAY_SCREENSHOTS (default: a temporary directory, printed). Needs root and the browser.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { BrokerFeed, Dashboard, dashboardPage } from "@causeway/cli";
import { silentLogger } from "@causeway/common";
import type { BrokerConnection } from "@causeway/common/broker-client";
import { failGateway, Lab, recoverGateway } from "@causeway/lab";
import type { Browser, Page } from "puppeteer-core";
import { labCli } from "../discovery/pods.ts";

const CHROMIUM = "/usr/bin/chromium-headless-shell";
const root = process.getuid?.() === 0;
const skip = !root ? "needs root" : existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing (apt-get install chromium-headless-shell)`;
const NAME = "cwdash";
/** The lab's health checks: a probe every 0.5 s, a cable in error after 3 lost (1.5 s). */
const HEALTH = { interval: 0.5, loss: 3 };
const SHOTS = process.env.CAUSEWAY_SCREENSHOTS ?? mkdtempSync(join(tmpdir(), "causeway-dashboard-e2e-"));

describe("lab e2e: the dashboard in headless Chromium, following a 3-cluster lab", { skip }, () => {
  let lab: Lab;
  let conn: BrokerConnection;
  let dash: Dashboard;
  let browser: Browser;
  let tab: Page;
  const { exportFrom } = labCli(NAME);
  const inPage = async <T>(expr: string): Promise<T> => (await tab.evaluate(expr)) as T;
  /** Waits (at most `ms`) for `expr`, the page's JavaScript, to hold; returns how long it took. */
  const pageHolds = async (expr: string, ms: number): Promise<number> => {
    const t0 = performance.now();
    await tab.waitForFunction(expr, { timeout: ms, polling: "mutation" });
    return Math.round(performance.now() - t0);
  };
  const cablesOf = (status: string) =>
    `[...document.querySelectorAll('[data-cable][data-status="${status}"]')].map((r) => r.getAttribute("data-cable")).sort()`;

  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    console.log(`# screenshots in ${SHOTS}`);
    await Lab.down(NAME);
    lab = await Lab.up({ name: NAME, clusters: 3, nodes: 2, gateways: 1, healthCheckInterval: HEALTH.interval, healthCheckMaxPacketLossCount: HEALTH.loss });
    await lab.waitConnected(60_000);
    conn = lab.admin();
    dash = await Dashboard.start({ listen: "127.0.0.1:0", feed: new BrokerFeed(conn, silentLogger()), page: await dashboardPage() });
    const { launch } = await import("puppeteer-core");
    browser = await launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox", "--disable-gpu"] });
    tab = await browser.newPage();
    await tab.setViewport({ width: 1400, height: 1000 });
    await tab.goto(dash.url);
  });
  after(async () => {
    await browser?.close();
    await dash?.close();
    conn?.close();
    await Lab.down(NAME);
  });

  it("3 clusters, each gateway active, every cable connected; c2's gateway link cut → its cables in error within the health-check time plus 1 s, connected again when it is back", async () => {
    await pageHolds(`document.querySelectorAll("[data-cluster]").length === 3 && ${cablesOf("connected")}.length === 6`, 30_000);
    assert.deepEqual(
      await inPage<string[]>(
        `[...document.querySelectorAll("[data-gateway]")].map((g) => g.getAttribute("data-gateway") + " " + g.getAttribute("data-state"))`,
      ),
      ["c1/n0 active", "c2/n0 active", "c3/n0 active"],
    );
    await tab.screenshot({ path: join(SHOTS, "1-three-clusters.png") });
    await failGateway(lab, "c2", "n0", "link");
    try {
      const bound = HEALTH.interval * HEALTH.loss * 1000 + 1000;
      // The cables towards c2, as c1's and c3's gateways report them (c2's own gateway cannot reach the broker now).
      const ms = await pageHolds(`${cablesOf("error")}.join() === "c1/n0→c2/n0,c3/n0→c2/n0"`, bound + 5000);
      console.log(`# c2's gateway link cut: its cables in error on the page ${ms} ms after (bound ${bound} ms)`);
      await tab.screenshot({ path: join(SHOTS, "2-c2-cut.png") });
      assert.ok(ms <= bound, `${ms} ms`);
      assert.match(await inPage<string>(`document.querySelector('[data-cable="c1/n0→c2/n0"] .status').textContent`), /✖ error/);
    } finally {
      await recoverGateway(lab, "c2", "n0", "link");
    }
    const back = await pageHolds(`${cablesOf("connected")}.length === 6`, 30_000);
    console.log(`# c2's link back: all 6 cables connected on the page ${back} ms after`);
    await tab.screenshot({ path: join(SHOTS, "3-c2-back.png") });
  });

  it("a service exported from c1 and c2 appears answered by both; c1's pods scaled to 0 → answered by c2 alone; back", async () => {
    await lab.addService("c1/default/web", { pods: 1 });
    await lab.addService("c2/default/web", { pods: 1 });
    await exportFrom("web", "c1", "c2");
    const seen = await pageHolds(`document.querySelector('[data-service="default/web"]')?.getAttribute("data-answering") === "c1,c2"`, 20_000);
    console.log(`# default/web on the page, answered by c1 and c2, ${seen} ms after both exports`);
    await tab.screenshot({ path: join(SHOTS, "4-service.png") });
    await lab.scaleService("c1/default/web", 0);
    const moved = await pageHolds(`document.querySelector('[data-service="default/web"]')?.getAttribute("data-answering") === "c2"`, 20_000);
    console.log(`# c1's web pods scaled to 0: answered by c2 alone on the page ${moved} ms after`);
    await tab.screenshot({ path: join(SHOTS, "5-failed-over.png") });
    assert.equal(
      await inPage<string>(`document.querySelector('[data-service="default/web"] [data-served]').getAttribute("data-served")`),
      "c1:failed over:c2;c2:local:c2;c3:remote:c2",
      "c1's clients failed over to c2; c3's go to c2",
    );
    const events = await inPage<string>(`document.querySelector("#events").textContent`);
    assert.match(events, /default\/web: answered by c2 \(was c1, c2\)/);
    await lab.scaleService("c1/default/web", 1);
    await pageHolds(`document.querySelector('[data-service="default/web"]')?.getAttribute("data-answering") === "c1,c2"`, 20_000);
  });
});
