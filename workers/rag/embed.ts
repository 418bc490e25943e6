import { EmbedResponse, RAG_DIMENSIONS, decodeVector, ragLimits } from "../../protocol/index.js";
import { normalize } from "./vector/quantize.js";
import { estimatingTokenizer, wordPieceTokenizer, type Tokenizer } from "./wordpiece.js";

/** Texts to unit vectors, and the tokenizer that counts chunks in the model's own tokens. */
export interface Embedder {
  readonly name: string;
  embed(texts: readonly string[]): Promise<Float32Array[]>;
  tokenizer(): Promise<Tokenizer>;
}

export class EmbedderError extends Error {}

/** The part of a Workers AI binding this uses. */
export interface WorkersAi {
  run(model: string, inputs: { text: string[] }): Promise<{ data?: number[][]; shape?: number[] }>;
}

/** The default Workers AI model: 384-wide like all-MiniLM-L6-v2, BERT uncased WordPiece too. */
export const WORKERS_AI_MODEL = "@cf/baai/bge-small-en-v1.5";

async function inBatches(texts: readonly string[], embed: (batch: string[]) => Promise<Float32Array[]>) {
  const vectors: Float32Array[] = [];
  for (let i = 0; i < texts.length; i += ragLimits.embedBatch)
    vectors.push(...(await embed(texts.slice(i, i + ragLimits.embedBatch))));
  return vectors;
}

/**
 * The Node embedder (transformers.js) behind a service binding (`npm start` gives the Worker one
 * through Miniflare) or at a URL: POST /embed, GET /tokenizer.
 */
export function serviceEmbedder(service: Pick<Fetcher, "fetch">, base = "http://embedder"): Embedder {
  let tokenizer: Promise<Tokenizer> | undefined;
  let model = "embedder";
  const call = async (path: string, init?: RequestInit) => {
    const response = await service.fetch(new URL(path, base).toString(), init);
    if (!response.ok)
      throw new EmbedderError(
        `embedder ${path} answered ${String(response.status)}: ${(await response.text()).slice(0, 200)}`,
      );
    return response;
  };
  return {
    get name() {
      return model;
    },
    embed: (texts) =>
      inBatches(texts, async (batch) => {
        const response = await call("/embed", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ texts: batch }),
        });
        const answer = EmbedResponse.safeParse(await response.json());
        if (!answer.success || answer.data.vectors.length !== batch.length)
          throw new EmbedderError("embedder answered with an unexpected body");
        model = answer.data.model;
        return answer.data.vectors.map((v) => decodeVector(v));
      }),
    tokenizer: () => {
      tokenizer ??= call("/tokenizer")
        .then(async (response) => wordPieceTokenizer(await response.text(), "embedder"))
        .catch((error: unknown) => {
          tokenizer = undefined;
          throw error;
        });
      return tokenizer;
    },
  };
}

/**
 * Workers AI in production. Its vocabulary is not exposed, so chunks are counted by the
 * estimate; bge-small truncates past 512 tokens, which the estimate keeps chunks well below.
 */
export function workersAiEmbedder(ai: WorkersAi, model = WORKERS_AI_MODEL): Embedder {
  return {
    name: model,
    embed: (texts) =>
      inBatches(texts, async (batch) => {
        const { data } = await ai.run(model, { text: batch });
        if (!data || data.length !== batch.length || data.some((v) => v.length !== RAG_DIMENSIONS))
          throw new EmbedderError(
            `${model} did not return ${String(batch.length)} vectors of ${String(RAG_DIMENSIONS)}`,
          );
        return data.map((v) => normalize(Float32Array.from(v)));
      }),
    tokenizer: () => Promise.resolve(estimatingTokenizer),
  };
}
