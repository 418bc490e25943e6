import { readFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { env, pipeline } from "@xenova/transformers";
import { RAG_DIMENSIONS } from "../protocol/index.js";
import { checkModelFolder } from "./model.js";

/** Texts in, one L2-normalized, mean-pooled 384-wide vector each out. */
export interface Embedder {
  /** The model's name (its folder's), reported with every vector. */
  readonly model: string;
  embed(texts: readonly string[]): Promise<Float32Array[]>;
  /** The model's tokenizer.json, for chunking by the same WordPiece vocabulary. */
  tokenizerJson(): Promise<string>;
}

export class ModelFolderError extends Error {}

/** Loading sets transformers.js's process-wide `env`; one load at a time. */
let loading: Promise<unknown> = Promise.resolve();

/**
 * Loads a local model folder through transformers.js's feature-extraction pipeline, the code path
 * of the real all-MiniLM-L6-v2: never from the network unless `allowRemote`.
 */
export async function loadEmbedder(dir: string, options: { allowRemote?: boolean } = {}): Promise<Embedder> {
  const folder = await checkModelFolder(resolve(dir));
  if (folder.problems.length > 0) throw new ModelFolderError(`${dir}: ${folder.problems.join("; ")}`);
  const load = loading.then(async () => {
    env.localModelPath = `${dirname(folder.dir)}/`;
    env.allowLocalModels = true;
    env.allowRemoteModels = options.allowRemote === true;
    return pipeline("feature-extraction", basename(folder.dir), { quantized: folder.quantized });
  });
  loading = load.catch(() => undefined);
  const extractor = await load;
  const model = basename(folder.dir);
  return {
    model,
    embed: async (texts) => {
      if (texts.length === 0) return [];
      // A Tensor of [texts, dims].
      const output = (await extractor([...texts], { pooling: "mean", normalize: true })) as {
        dims: number[];
        data: Float32Array;
      };
      const [rows, width] = output.dims;
      if (rows !== texts.length || width !== RAG_DIMENSIONS)
        throw new ModelFolderError(`${model} gave [${output.dims.join(", ")}], expected [${texts.length}, 384]`);
      return Array.from({ length: rows }, (_, i) => output.data.slice(i * width, (i + 1) * width));
    },
    tokenizerJson: () => readFile(join(folder.dir, "tokenizer.json"), "utf8"),
  };
}
