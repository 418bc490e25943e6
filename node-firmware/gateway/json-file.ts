import { open, readFile, rename } from "node:fs/promises";
import type { z } from "zod";
import { decodePayload } from "../../protocol/index.js";

/**
 * The gateway's copy of what it relays from the edge (the deny list, the mesh policy), so that it
 * holds them from its first connection after a restart, and while the edge is out of reach.
 * Written whole to a temporary file, synced, then renamed over the old copy: a crash leaves the
 * old copy or the new one, never half of one.
 */
export async function writeJsonFile(path: string, value: unknown): Promise<void> {
  const temp = `${path}.tmp`;
  const file = await open(temp, "w", 0o600);
  try {
    await file.writeFile(JSON.stringify(value));
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temp, path);
}

/** The stored copy; undefined when there is none, or `invalid` with the reason when it cannot be read. */
export async function readJsonFile<S extends z.ZodType>(
  path: string,
  schema: S,
): Promise<z.infer<S> | undefined | { invalid: string }> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  const decoded = decodePayload(schema, bytes, Number.MAX_SAFE_INTEGER);
  return decoded.ok ? decoded.value : { invalid: `${decoded.reason}: ${decoded.detail}` };
}
