import { createRequire } from "node:module";
import type * as Yaml from "yaml";

/** Parses YAML text; the yaml library loads with the first file parsed (a process that reads none, like the CLI against a broker, does not load it). */
export function parseYaml(text: string): unknown {
  return (createRequire(import.meta.url)("yaml") as typeof Yaml).parse(text);
}
