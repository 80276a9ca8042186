import type { z } from "zod";
import { ValidationError } from "./errors.ts";
import { type Kind, SCHEMAS, type ValueOf } from "./resources.ts";

/** Renders zod issues as "path: message" lines. */
export function formatIssues(error: z.ZodError): string[] {
  return error.issues.map((i) => `${i.path.length ? i.path.join(".") : "(root)"}: ${i.message}`);
}

/** Parses and validates a record value of the given kind; throws ValidationError listing every problem. */
export function parseValue<K extends Kind>(kind: K, json: unknown): ValueOf<K> {
  let raw: unknown = json;
  if (typeof json === "string") {
    try {
      raw = JSON.parse(json);
    } catch (err) {
      throw new ValidationError(`${kind} value is not valid JSON`, [String(err)]);
    }
  }
  const res = SCHEMAS[kind].safeParse(raw);
  if (!res.success) throw new ValidationError(`invalid ${kind}`, formatIssues(res.error));
  return res.data as ValueOf<K>;
}
