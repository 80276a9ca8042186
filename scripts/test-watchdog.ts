/**
 * Loaded into every test file's process by scripts/test.ts: a file whose tests are done but whose
 * process stays alive (a timer or socket nobody closed) fails after EXIT_GRACE_MS, naming what is
 * still open, instead of holding up the whole run until the CI's time is gone. The timer is
 * unref'd: a file that ends normally is not delayed by it.
 */
import { after } from "node:test";

/** Time from the end of a file's tests (its root `after` hooks may still tear a lab down) to the verdict. */
const EXIT_GRACE_MS = 120_000;

after(() => {
  const timer = setTimeout(() => {
    const open = process.getActiveResourcesInfo();
    console.error(`test watchdog: this file's tests ended ${EXIT_GRACE_MS / 1000} s ago but its process is still alive; open: ${JSON.stringify(open)}`);
    process.exit(1);
  }, EXIT_GRACE_MS);
  timer.unref();
});
