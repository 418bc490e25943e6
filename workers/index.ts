import { createApp } from "./app.js";
import { scheduledRetention } from "./audit/retention.js";
import type { Env } from "./env.js";
import { resumeStalledDocuments } from "./rag/ingest.js";
import { openRag } from "./rag/open.js";
import { governanceTick } from "./dao/tick.js";
import { openDao } from "./dao/open.js";

export { RagIndexShard } from "./rag/vector/shard.js";

const app = createApp();

/** wrangler.toml's triggers: housekeeping hourly; governance (closing votes, running due executions) every minute. */
const HOURLY = "17 * * * *";

export default {
  fetch: app.fetch,
  scheduled: (controller, env, ctx) => {
    if (controller.cron === HOURLY) {
      ctx.waitUntil(scheduledRetention(env, controller.scheduledTime));
      ctx.waitUntil(resumeStalledDocuments(openRag(env)));
    }
    ctx.waitUntil(governanceTick(openDao(env)));
  },
} satisfies ExportedHandler<Env>;
