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
      if (statSync(p).isDirectory()) {
        walk(p);
        continue;
      }
      const text = () => readFileSync(p, "utf8");
      if (/(token|cable-secret)$/.test(name)) out.add(text().trim());
      else if (name === "tokens.csv")
        for (const line of text().split("\n"))
          if (line.trim()) out.add(line.split(",")[0] ?? "");
          else if (/\.key$/.test(name)) {
            const body = text()
              .split("\n")
              .filter((l) => l && !l.startsWith("-----"));
            if (body[1]) out.add(body[1]);
          }
    }
  };
  walk(dir);
  return [...out].filter((s) => s.length >= 16);
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
