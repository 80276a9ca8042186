import { z } from "zod";
import { errorMessage, ValidationError } from "./errors.ts";
import { formatIssues } from "./validate.ts";

/**
 * broker-info: what `join` needs to reach the broker, as Submariner's broker-info.subm
 * (reference §3.3): base64url (RFC 4648 §5, with padding) of a JSON document, file mode 0600.
 */
export const BrokerInfoSchema = z.object({
  /** host:port the gateways dial (gRPC). */
  brokerURL: z.string().min(1),
  /** PEM of the broker's CA; empty while the broker serves plaintext (the lab). */
  ca: z.string().default(""),
  /** The broker's admin credential (cwa.…): join uses it to register the cluster. */
  adminToken: z.string().regex(/^cwa\.[A-Za-z0-9_-]{16,}$/, "must be a Causeway admin token (cwa.…)"),
  components: z.array(z.enum(["connectivity", "service-discovery"])).default(["connectivity", "service-discovery"]),
  /**
   * The clusterset's cable secret (48 random bytes, base64, like Submariner's IPsec PSK): every
   * WireGuard cable's preshared key is derived from it. Empty in broker-info files written before it existed.
   */
  cableSecret: z.string().default(""),
});
export type BrokerInfo = z.infer<typeof BrokerInfoSchema>;

export function encodeBrokerInfo(b: BrokerInfo): string {
  // base64url with "=" padding, as subctl writes it.
  const raw = Buffer.from(JSON.stringify(b), "utf8").toString("base64").replaceAll("+", "-").replaceAll("/", "_");
  return `${raw}\n`;
}

/** Decodes and validates; throws ValidationError saying the file is corrupt and what is wrong. */
export function decodeBrokerInfo(text: string, source = "broker-info"): BrokerInfo {
  const body = text.trim();
  if (!/^[A-Za-z0-9_-]+={0,2}$/.test(body))
    throw new ValidationError(`${source} is corrupt: not base64url text (was it produced by 'causeway deploy-broker'?)`);
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(body, "base64url").toString("utf8"));
  } catch (err) {
    throw new ValidationError(`${source} is corrupt: its content is not JSON (${errorMessage(err)})`);
  }
  // Go's decoder (subctl) matches keys case-insensitively; so do we.
  const known = Object.keys(BrokerInfoSchema.shape);
  const folded =
    json && typeof json === "object"
      ? Object.fromEntries(Object.entries(json as Record<string, unknown>).map(([k, v]) => [known.find((x) => x.toLowerCase() === k.toLowerCase()) ?? k, v]))
      : json;
  const res = BrokerInfoSchema.safeParse(folded);
  if (!res.success) throw new ValidationError(`${source} is corrupt`, formatIssues(res.error));
  return res.data;
}
