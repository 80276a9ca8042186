/**
 * The CLI's one door to the lab. `@causeway/lab` (network namespaces, the lab's processes, and
 * through it deploy and the components) loads only when a command works on a lab: `show --broker`,
 * `--kubeconfig`, `deploy-broker` and `join` never load it (cli/src/modules.test.ts checks).
 */
import type * as LabModule from "@causeway/lab";

export type { Lab } from "@causeway/lab";

/** The lab library, loaded on first use. */
export const labModule = (): Promise<typeof LabModule> => import("@causeway/lab");

/** Opens a running lab by name (or the only one there is). */
export async function openLab(name?: string): Promise<LabModule.Lab> {
  return (await labModule()).Lab.open(name);
}
