import { z } from "zod";

/** Version of this contract; bumps when a message shape changes incompatibly. */
export const PROTOCOL_VERSION = 1;

export const VersionInfo = z.strictObject({
  service: z.literal("x0tta6bl4-control-plane"),
  version: z.string(),
  protocol: z.number().int(),
  environment: z.string(),
});
export type VersionInfo = z.infer<typeof VersionInfo>;

export const Health = z.strictObject({ status: z.literal("ok") });
