import { z } from "zod";
import { messageVersion } from "./version.js";
import { EpochMs } from "./ids.js";

/** Sent back to a node on its rejections topic when a consumer drops one of its messages. */
export const Rejection = z.object({
  v: messageVersion(1),
  topic: z.string(),
  reason: z.enum(["unknown-topic", "too-large", "not-json", "schema", "topic-mismatch"]),
  detail: z.string().max(1024),
  ts: EpochMs,
});
export type Rejection = z.infer<typeof Rejection>;
