import { z } from "zod";

/** Version of this contract; bumps when a message shape changes incompatibly. */
export const PROTOCOL_VERSION = 1;

/**
 * A message's `v`: the one field a reader checks before any other. Readers are tolerant (they
 * drop fields they do not know, so a newer sender's additions pass), writers are exact (tests
 * hold what we send to the schema); a change an older reader would misread bumps `v`, and a
 * reader refuses a `v` it does not know with this text rather than guessing.
 */
export const messageVersion = <V extends number>(version: V) =>
  z.literal(version, {
    error: (issue) =>
      `message version ${JSON.stringify(issue.input)} is not one this reader knows (it reads v ${String(version)})`,
  });

export const VersionInfo = z.object({
  service: z.literal("x0tta6bl4-control-plane"),
  version: z.string(),
  protocol: z.number().int(),
  environment: z.string(),
});
export type VersionInfo = z.infer<typeof VersionInfo>;

export const Health = z.object({ status: z.literal("ok") });
