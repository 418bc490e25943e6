import type { Context } from "hono";

/** Where a request came from, for counting refusals: the client address Cloudflare (and Miniflare) sets. */
export const requestSource = (c: Context): string => c.req.header("cf-connecting-ip") ?? "unknown";
