import { createApp } from "./app.js";
import { scheduledRetention } from "./audit/retention.js";
import type { Env } from "./env.js";
import { resumeStalledDocuments } from "./rag/ingest.js";
import { openRag } from "./rag/open.js";

export { RagIndexShard } from "./rag/vector/shard.js";

const app = createApp();

export default {
  fetch: app.fetch,
  scheduled: (controller, env, ctx) => {
    ctx.waitUntil(scheduledRetention(env, controller.scheduledTime));
    ctx.waitUntil(resumeStalledDocuments(openRag(env)));
  },
} satisfies ExportedHandler<Env>;
