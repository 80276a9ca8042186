/** Causeway's release: what `causeway version` prints, gateways report, and the image is tagged with (every workspace's package.json says the same; a test checks). */
export const CAUSEWAY_VERSION = "0.1.0";
