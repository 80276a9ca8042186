import assert from "node:assert/strict";
import { join } from "node:path";
import { ProcessRunner } from "@causeway/common";
import { type Lab, REPO_ROOT } from "@causeway/lab";

/** The CLI against the standalone lab `name` (`--lab`), and `causeway export service` of a default-namespace service from clusters, each asserted to succeed. */
export function labCli(name: string) {
  const cli = (args: string[]) =>
    new ProcessRunner(30_000).run(process.execPath, [join(REPO_ROOT, "cli/src/main.ts"), ...args, "--lab", name], { allowFailure: true });
  const exportFrom = async (svc: string, ...clusters: string[]) => {
    for (const c of clusters) {
      const r = await cli(["export", "service", svc, "-n", "default", "--context", c]);
      assert.equal(r.exitCode, 0, r.stdout + r.stderr);
    }
  };
  return { cli, exportFrom };
}

/** What a lab pod gets for `name` (A) from its own nameserver (its cluster's CoreDNS): the addresses, or the error code. */
export async function podDig(lab: Lab, from: string, name: string): Promise<string[] | string> {
  const r = await lab.exec(from, [process.execPath, join(REPO_ROOT, "lab/src/tools/dig.ts"), "--name", name]);
  const out = JSON.parse(r.stdout) as string[] | { error: string };
  return Array.isArray(out) ? out : out.error;
}

/** What a lab pod gets for a query of `type` (AAAA, SRV, TXT, PTR: `name` the address) from its own nameserver: dig.ts's JSON answers, or the error code. */
export async function podQuery(lab: Lab, from: string, name: string, type: "AAAA" | "SRV" | "TXT" | "PTR"): Promise<unknown[] | string> {
  const r = await lab.exec(from, [process.execPath, join(REPO_ROOT, "lab/src/tools/dig.ts"), "--name", name, "--type", type]);
  const out = JSON.parse(r.stdout) as unknown[] | { error: string };
  return Array.isArray(out) ? out : out.error;
}

/** An HTTP GET by name from a lab pod: the body (a lab service answers "<cluster>/<pod>", and on /client the address it saw), or "error <code>". */
export async function podGet(lab: Lab, from: string, host: string, path = "/"): Promise<string> {
  const r = await lab.exec(from, [process.execPath, join(REPO_ROOT, "lab/src/tools/get.ts"), "--host", host, "--path", path]);
  const out = JSON.parse(r.stdout) as { body?: string; error?: string };
  return out.body ?? `error ${out.error}`;
}

/**
 * GETs `host` from a lab pod every 50 ms until the body matches `body`: resolves with the
 * wall-clock time (ms since the epoch) it first did, or rejects after `ms`. Started before the
 * change it waits for (give it a second to start).
 */
export async function podWaitBody(lab: Lab, from: string, host: string, body: RegExp, ms = 20_000): Promise<number> {
  const argv = [process.execPath, join(REPO_ROOT, "lab/src/tools/get.ts"), "--host", host, "--until-body", body.source, "--within", String(ms)];
  const r = await lab.exec(from, argv, ms + 5000);
  const out = JSON.parse(r.stdout || "{}") as { matchedAt?: number; error?: string };
  if (out.matchedAt === undefined) throw new Error(`${host} from ${from}: ${out.error ?? r.stderr}`);
  return out.matchedAt;
}

/**
 * Watches `name` from a lab pod until it is gone (NXDOMAIN), asking every 20 ms: resolves with
 * the wall-clock time (ms since the epoch) it went, or rejects after `ms`. Started before the
 * change it waits for (give it a second to start).
 */
export async function podWatchGone(lab: Lab, from: string, name: string, ms = 10_000): Promise<number> {
  const r = await lab.exec(from, [process.execPath, join(REPO_ROOT, "lab/src/tools/dig.ts"), "--name", name, "--until-gone", String(ms)], ms + 5000);
  const out = JSON.parse(r.stdout) as { goneAt?: number; error?: string };
  if (out.goneAt === undefined) throw new Error(`${name} from ${from}: ${out.error ?? r.stderr}`);
  return out.goneAt;
}
