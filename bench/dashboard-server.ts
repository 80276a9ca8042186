/**
 * bench/dashboard.ts's server, in a process of its own (its memory is the dashboard's): a
 * synthetic clusterset of CLUSTERS clusters and EXPORTS exports; each line on stdin breaks (or
 * mends) the cable c7→c8. Prints its URL, then "changed <ms since epoch>" after each change.
 */
import { createInterface } from "node:readline";
import { Dashboard, dashboardPage, MemoryFeed, syntheticClusterset } from "@causeway/cli";

const [clusters, exports] = [Number(process.env.CLUSTERS ?? 50), Number(process.env.EXPORTS ?? 1000)];
const feed = new MemoryFeed();
let broken = false;
const set = () => feed.set(syntheticClusterset(clusters, exports, { status: (i, j) => (broken && i === 7 && j === 8 ? "error" : "connected") }));
set();
const d = await Dashboard.start({ listen: "127.0.0.1:0", feed, page: await dashboardPage() });
console.log(`url ${d.url}`);
for await (const _ of createInterface({ input: process.stdin })) {
  broken = !broken;
  set();
  console.log(`changed ${Date.now()} rss ${process.memoryUsage().rss}`);
}
await d.close();
