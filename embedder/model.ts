import { access, readFile } from "node:fs/promises";
import { join } from "node:path";
import { RAG_DIMENSIONS } from "../protocol/index.js";

/** What `checkModelFolder` found: the files transformers.js will load, or why it cannot. */
export interface ModelFolder {
  dir: string;
  /** onnx/model_quantized.onnx when present (transformers.js's default), else onnx/model.onnx. */
  onnxFile?: string;
  quantized: boolean;
  hiddenSize?: number;
  problems: string[];
}

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

async function readJson(path: string, problems: string[]): Promise<Record<string, unknown> | undefined> {
  try {
    const parsed: unknown = JSON.parse(await readFile(path, "utf8"));
    if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed))
      return parsed as Record<string, unknown>;
    problems.push(`${path} is not a JSON object`);
  } catch (error) {
    problems.push(`${path}: ${(error as Error).message}`);
  }
  return undefined;
}

/**
 * Checks a local model folder in the Hugging Face layout (config.json, tokenizer.json,
 * onnx/model[_quantized].onnx) for a 384-wide BERT-style encoder, without loading it.
 */
export async function checkModelFolder(dir: string): Promise<ModelFolder> {
  const problems: string[] = [];
  const config = await readJson(join(dir, "config.json"), problems);
  const hiddenSize = typeof config?.hidden_size === "number" ? config.hidden_size : undefined;
  if (config && hiddenSize !== RAG_DIMENSIONS)
    problems.push(`config.json hidden_size is ${String(hiddenSize)}, the index needs ${String(RAG_DIMENSIONS)}`);
  const tokenizer = await readJson(join(dir, "tokenizer.json"), problems);
  const model = tokenizer?.model as { type?: unknown } | undefined;
  if (tokenizer && model?.type !== "WordPiece")
    problems.push(`tokenizer.json model.type is ${String(model?.type)}, expected WordPiece`);
  const quantizedFile = join(dir, "onnx", "model_quantized.onnx");
  const fullFile = join(dir, "onnx", "model.onnx");
  const quantized = await exists(quantizedFile);
  const onnxFile = quantized ? quantizedFile : (await exists(fullFile)) ? fullFile : undefined;
  if (!onnxFile) problems.push(`no onnx/model_quantized.onnx or onnx/model.onnx in ${dir}`);
  return { dir, quantized, problems, ...(onnxFile ? { onnxFile } : {}), ...(hiddenSize ? { hiddenSize } : {}) };
}
