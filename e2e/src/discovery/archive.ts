import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ProcessRunner } from "@causeway/common";

/**
 * Every credential a lab made, as the strings that would leak: broker tokens, the cable secret,
 * the API servers' static tokens (tokens.csv), TLS and service-account private keys (a line of
 * their base64 body each). Walks the lab directory.
 */
export function labCredentials(dir: string): string[] {
  const out = new Set<string>();
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const st = statSync(p);
      // Real nodes' directories hold containerd's roots (images, container filesystems): no credential of the lab's own.
      if (st.isDirectory()) {
        if (name !== "nodes") walk(p);
        continue;
      }
      if (st.isFile()) credentialsOf(name, readFileSync(p, "utf8")).forEach((c) => out.add(c));
    }
  };
  walk(dir);
  return [...out].filter((s) => s.length >= 16);
}

/** Pure: the credentials a lab file named `name` holds. */
export function credentialsOf(name: string, text: string): string[] {
  if (/(token|cable-secret)$/.test(name)) return [text.trim()];
  if (name === "tokens.csv")
    return text
      .split("\n")
      .filter((l) => l.trim())
      .map((l) => l.split(",")[0] ?? "");
  if (/\.key$/.test(name)) {
    const body = text.split("\n").filter((l) => l && !l.startsWith("-----"));
    return body[1] ? [body[1]] : [];
  }
  return [];
}

/** The credentials among `secrets` found in any file of a .tar.gz, with the file they were in. */
export async function credentialsIn(archive: string, secrets: readonly string[]): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), "cw-archive-"));
  try {
    await new ProcessRunner(30_000).run("tar", ["xzf", archive, "-C", dir]);
    const found: string[] = [];
    const walk = (d: string): void => {
      for (const name of readdirSync(d)) {
        const p = join(d, name);
        if (statSync(p).isDirectory()) walk(p);
        else {
          const content = readFileSync(p, "latin1");
          for (const s of secrets) if (content.includes(s)) found.push(`${p.slice(dir.length + 1)} holds ${s.slice(0, 6)}…`);
        }
      }
    };
    if (existsSync(dir)) walk(dir);
    return found;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
