import type { Env } from "../env.js";
import { openDatabase } from "../db/client.js";
import { serviceEmbedder, workersAiEmbedder, type Embedder } from "./embed.js";
import type { RagDeps } from "./ingest.js";
import { durableObjectVectorStore } from "./vector/durable.js";
import { vectorizeStore } from "./vector/vectorize.js";

/**
 * The embedder `RAG_EMBEDDER` names: "service" (the EMBEDDER service binding, or the HTTP
 * embedder at RAG_EMBEDDER_URL), "workers-ai" (the AI binding), "none". Unset: the first of those
 * that is bound.
 */
export function openEmbedder(env: Env): Embedder | undefined {
  const choice =
    env.RAG_EMBEDDER ?? (env.EMBEDDER || env.RAG_EMBEDDER_URL ? "service" : env.AI ? "workers-ai" : "none");
  if (choice === "none") return undefined;
  if (choice === "workers-ai") {
    if (!env.AI) throw new Error("RAG_EMBEDDER is workers-ai but no AI binding is configured");
    return workersAiEmbedder(env.AI, env.RAG_WORKERS_AI_MODEL);
  }
  if (env.EMBEDDER) return serviceEmbedder(env.EMBEDDER);
  if (env.RAG_EMBEDDER_URL)
    return serviceEmbedder({ fetch: (input, init) => fetch(input, init) }, env.RAG_EMBEDDER_URL);
  throw new Error("RAG_EMBEDDER is service but neither an EMBEDDER binding nor RAG_EMBEDDER_URL is configured");
}

/** RAG on this Worker's bindings: Vectorize when bound (large deployments), else the Durable Object shards. */
export function openRag(env: Env): RagDeps {
  const db = openDatabase(env.DB);
  return {
    db,
    d1: env.DB,
    embedder: openEmbedder(env),
    vectors: env.RAG_VECTORIZE
      ? vectorizeStore(env.RAG_VECTORIZE)
      : env.RAG_INDEX
        ? durableObjectVectorStore(env.RAG_INDEX, db)
        : undefined,
    now: () => Date.now(),
  };
}
