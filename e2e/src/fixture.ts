import { Lab, type UpOptions } from "@causeway/lab";

/**
 * A lab for a describe block, connected: a leftover of the same name (a crashed run) removed
 * first, then up, then every cluster's gateway connected to every other (bounded). The block's
 * after() removes it with Lab.down(name), which also finds what a failure left.
 */
export async function upConnected(o: UpOptions & { readonly name: string }, waitMs = 60_000): Promise<Lab> {
  await Lab.down(o.name);
  const lab = await Lab.up(o);
  await lab.waitConnected(waitMs);
  return lab;
}
