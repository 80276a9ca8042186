// Test hook (node --import): appends the URL of every module the process resolves to $CW_MODULE_LOG,
// so a test can tell which workspaces a command loaded (cli/src/modules.test.ts, e2e/src/kube/lab.test.ts).
import { appendFileSync } from "node:fs";
import { registerHooks } from "node:module";

const out = process.env.CW_MODULE_LOG;
if (out) {
  registerHooks({
    resolve(specifier, context, next) {
      const r = next(specifier, context);
      appendFileSync(out, `${r.url}\n`);
      return r;
    },
  });
}
