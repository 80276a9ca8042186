/** One check's outcome (verify, diagnose): what was checked, whether it held, what was seen, how long it took. */
export interface CheckResult {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
  readonly ms: number;
}

/** Pure: the JUnit XML of a verify run (one suite, a testcase per check, failures with their detail). */
export function junitReport(results: readonly CheckResult[], suite = "causeway verify"): string {
  const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
  const failures = results.filter((r) => !r.ok).length;
  const total = results.reduce((n, r) => n + r.ms, 0) / 1000;
  const cases = results.map((r) => {
    const attrs = `classname="${esc(suite)}" name="${esc(r.name)}" time="${(r.ms / 1000).toFixed(3)}"`;
    return r.ok ? `    <testcase ${attrs}/>` : `    <testcase ${attrs}>\n      <failure message="${esc(r.detail)}"/>\n    </testcase>`;
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites tests="${results.length}" failures="${failures}" time="${total.toFixed(3)}">`,
    `  <testsuite name="${esc(suite)}" tests="${results.length}" failures="${failures}" time="${total.toFixed(3)}">`,
    ...cases,
    "  </testsuite>",
    "</testsuites>",
    "",
  ].join("\n");
}
