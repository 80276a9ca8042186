/**
 * The CLI's one door to the lab. `@causeway/lab` (network namespaces, the lab's processes, and
 * through it deploy and the components) loads only when a command works on a lab: `show --broker`,
 * `--kubeconfig`, `deploy-broker` and `join` never load it (cli/src/modules.test.ts checks).
 */
import type * as LabModule from "@causeway/lab";

export type { Lab } from "@causeway/lab";

/** The lab library, loaded on first use; the image's CLI has none (the lab drives a developer's host), and says so. */
export async function labModule(): Promise<typeof LabModule> {
  try {
    return await import("@causeway/lab");
  } catch (err) {
    if ((err as { code?: string }).code !== "ERR_MODULE_NOT_FOUND" || !String(err).includes("@causeway/lab")) throw err;
    const { ValidationError } = await import("@causeway/api");
    throw new ValidationError("lab commands run from a checkout of the Causeway repository (npm ci there), not from the image");
  }
}

/** Opens a running lab by name (or the only one there is). */
export async function openLab(name?: string): Promise<LabModule.Lab> {
  return (await labModule()).Lab.open(name);
}
