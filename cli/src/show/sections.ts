/** The sections of `show` (subctl's), apart from the renderers so that loading the command costs nothing. */
export const SECTIONS = ["connections", "endpoints", "gateways", "networks", "versions"] as const;
export type Section = (typeof SECTIONS)[number];
