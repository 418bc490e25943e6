import { createApp } from "./app.js";
import { scheduledRetention } from "./audit/retention.js";
import type { Env } from "./env.js";

export { RagIndexShard } from "./rag/vector/shard.js";

const app = createApp();

export default {
  fetch: app.fetch,
  scheduled: (controller, env, ctx) => {
    ctx.waitUntil(scheduledRetention(env, controller.scheduledTime));
  },
} satisfies ExportedHandler<Env>;
