import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import onnxProto from "onnx-proto";
import { RAG_DIMENSIONS } from "../protocol/index.js";

const { onnx } = onnxProto;

const SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] as const;
const CHARACTERS = Array.from("abcdefghijklmnopqrstuvwxyz0123456789");
const PUNCTUATION = Array.from(".,;:!?-_/()[]{}'\"#*`<>=+%&@|~$^\\");
/** Words of this product's own texts, so that runbooks and decisions tokenize mostly into whole words. */
const WORDS = `the a an of to in on for and or is are was be by with from at as it this that not no
mesh node nodes link links cut degraded loss latency reroute hop penalty batman adv tq neighbor neighbour
edge gateway broker mqtt telemetry decision action outcome applied failed rejected runbook incident fix
fixed restart interface flood isolate source rate limit threshold probe silent offline online stale
packet packets drop dropped ms percent rtt retransmit route routes path switch originator ogm interval
when what why how last time after before then check set raise lower run see step steps`.split(/\s+/);

/** Vocabulary order: specials, words, single characters, punctuation, then `##` continuations. */
function vocabulary(extraWords: readonly string[]): string[] {
  const words = [...new Set([...WORDS, ...extraWords.map((w) => w.toLowerCase())])].filter(
    (w) => /^[a-z0-9]+$/.test(w) && !CHARACTERS.includes(w),
  );
  return [...SPECIAL, ...words, ...CHARACTERS, ...PUNCTUATION, ...CHARACTERS.map((c) => `##${c}`)];
}

/** A seeded generator (LCG): the same folder, byte for byte, on every machine. */
function uniform(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state / 2 ** 32 - 0.5;
  };
}

function onnxGraph(vocabSize: number, seed: number): Uint8Array {
  const next = uniform(seed);
  const table = Float32Array.from({ length: vocabSize * RAG_DIMENSIONS }, next);
  const input = (name: string) =>
    onnx.ValueInfoProto.create({
      name,
      type: {
        tensorType: {
          elemType: onnx.TensorProto.DataType.INT64,
          shape: { dim: [{ dimParam: "batch" }, { dimParam: "sequence" }] },
        },
      },
    });
  const graph = onnx.GraphProto.create({
    name: "x0-tiny-bert",
    // Embedding lookup, then tanh: a bag-of-words encoder with BERT's inputs and output.
    node: [
      { opType: "Gather", input: ["word_embeddings", "input_ids"], output: ["embedded"], name: "lookup" },
      { opType: "Tanh", input: ["embedded"], output: ["last_hidden_state"], name: "squash" },
    ],
    initializer: [
      onnx.TensorProto.create({
        name: "word_embeddings",
        dims: [vocabSize, RAG_DIMENSIONS],
        dataType: onnx.TensorProto.DataType.FLOAT,
        rawData: new Uint8Array(table.buffer),
      }),
    ],
    input: [input("input_ids"), input("attention_mask"), input("token_type_ids")],
    output: [
      onnx.ValueInfoProto.create({
        name: "last_hidden_state",
        type: {
          tensorType: {
            elemType: onnx.TensorProto.DataType.FLOAT,
            shape: { dim: [{ dimParam: "batch" }, { dimParam: "sequence" }, { dimValue: RAG_DIMENSIONS }] },
          },
        },
      }),
    ],
  });
  const model = onnx.ModelProto.create({
    irVersion: 7,
    opsetImport: [{ domain: "", version: 13 }],
    producerName: "x0ctl",
    graph,
  });
  return onnx.ModelProto.encode(model).finish();
}

/** tokenizer.json in the Hugging Face tokenizers format, as all-MiniLM-L6-v2's (BERT uncased WordPiece). */
function tokenizerJson(vocab: readonly string[]): string {
  const ids = Object.fromEntries(vocab.map((token, id) => [token, id]));
  const special = (token: string) => ({ SpecialToken: { id: token, type_id: 0 } });
  return JSON.stringify({
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: SPECIAL.map((content) => ({
      id: ids[content],
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: {
      type: "BertNormalizer",
      clean_text: true,
      handle_chinese_chars: true,
      strip_accents: null,
      lowercase: true,
    },
    pre_tokenizer: { type: "BertPreTokenizer" },
    post_processor: {
      type: "TemplateProcessing",
      single: [special("[CLS]"), { Sequence: { id: "A", type_id: 0 } }, special("[SEP]")],
      pair: [
        special("[CLS]"),
        { Sequence: { id: "A", type_id: 0 } },
        special("[SEP]"),
        { Sequence: { id: "B", type_id: 1 } },
        special("[SEP]"),
      ],
      special_tokens: Object.fromEntries(
        ["[CLS]", "[SEP]"].map((token) => [token, { id: token, ids: [ids[token]], tokens: [token] }]),
      ),
    },
    decoder: { type: "WordPiece", prefix: "##", cleanup: true },
    model: {
      type: "WordPiece",
      unk_token: "[UNK]",
      continuing_subword_prefix: "##",
      max_input_chars_per_word: 100,
      vocab: ids,
    },
  });
}

/**
 * Writes a tiny BERT-format model folder (config.json, tokenizer.json, onnx/model.onnx) that
 * transformers.js loads exactly as it loads all-MiniLM-L6-v2: for trying and testing the whole
 * RAG pipeline where no weights can be downloaded. Its vectors are a seeded bag of words.
 */
export async function writeTinyModel(dir: string, options: { words?: readonly string[]; seed?: number } = {}) {
  const vocab = vocabulary(options.words ?? []);
  await mkdir(join(dir, "onnx"), { recursive: true });
  await writeFile(join(dir, "onnx", "model.onnx"), onnxGraph(vocab.length, options.seed ?? 1));
  await writeFile(join(dir, "tokenizer.json"), tokenizerJson(vocab));
  await writeFile(
    join(dir, "config.json"),
    JSON.stringify({
      model_type: "bert",
      architectures: ["BertModel"],
      hidden_size: RAG_DIMENSIONS,
      vocab_size: vocab.length,
    }),
  );
  await writeFile(
    join(dir, "tokenizer_config.json"),
    JSON.stringify({
      tokenizer_class: "BertTokenizer",
      do_lower_case: true,
      model_max_length: 512,
      ...{ cls_token: "[CLS]", sep_token: "[SEP]", pad_token: "[PAD]", unk_token: "[UNK]", mask_token: "[MASK]" },
    }),
  );
  return { vocabularySize: vocab.length };
}
