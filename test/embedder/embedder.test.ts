import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { AutoTokenizer, env } from "@xenova/transformers";
import { beforeAll, describe, expect, it } from "vitest";
import { checkModelFolder, embedderHandler, loadEmbedder, type Embedder } from "../../embedder/index.js";
import { EmbedResponse, Problem, decodeVector } from "../../protocol/index.js";
import { wordPieceTokenizer } from "../../workers/rag/wordpiece.js";
import { tinyModel } from "../helpers/tiny-model.js";
import { useTempDirs } from "../helpers/tmp.js";

const temporaryDir = useTempDirs("x0-broken-model-");

let dir: string;
let embedder: Embedder;
beforeAll(async () => {
  dir = await tinyModel();
  embedder = await loadEmbedder(dir);
});

const HOSTILE_TEXTS = [
  "The mesh link is DEGRADED: loss 20% (TQ 120)!",
  "Café naïve résumé — Ünïcödé accents",
  "中文字符 and emoji 🚀 mixed",
  "tabs\tand\nnewlines\r\nand\u0000nulls\u200b zero-width",
  "supercalifragilisticexpialidocious".repeat(5),
  "reroute.hop_penalty=150; batctl hardif eth0 hop_penalty",
  "",
];

describe("the Worker's WordPiece tokenizer", () => {
  it("gives the same token ids as transformers.js's tokenizer for the same tokenizer.json", async () => {
    env.localModelPath = join(dir, "..") + "/";
    env.allowRemoteModels = false;
    const reference = await AutoTokenizer.from_pretrained("x0-tiny-minilm");
    const ours = wordPieceTokenizer(await embedder.tokenizerJson(), "tiny");
    for (const text of HOSTILE_TEXTS) {
      const expected = reference.encode(text).slice(1, -1); // without [CLS] … [SEP]
      expect(
        ours.words(text).flatMap((w) => w.ids),
        text,
      ).toEqual(expected);
    }
  });
});

describe("the Node embedder (transformers.js on a local model folder)", () => {
  it("gives unit vectors of 384, and texts that share words come closer", async () => {
    const [a, b, c] = await embedder.embed(["the mesh link loss", "mesh link loss fixed", "solar panel battery"]);
    const dot = (x: Float32Array, y: Float32Array) => x.reduce((s, v, i) => s + v * (y[i] ?? 0), 0);
    for (const v of [a!, b!, c!]) {
      expect(v).toHaveLength(384);
      expect(dot(v, v)).toBeCloseTo(1, 5);
    }
    expect(dot(a!, b!)).toBeGreaterThan(dot(a!, c!));
  });

  it("serves the same vectors over its fetch handler, and refuses bad requests with problem+json", async () => {
    const handler = embedderHandler(embedder);
    const post = (body: string) =>
      handler(
        new Request("http://embedder/embed", { method: "POST", headers: { "content-type": "application/json" }, body }),
      );
    const answer = EmbedResponse.parse(await (await post(JSON.stringify({ texts: ["the mesh link loss"] }))).json());
    const [direct] = await embedder.embed(["the mesh link loss"]);
    expect(decodeVector(answer.vectors[0]!)).toEqual(direct);
    for (const bad of [
      "{",
      JSON.stringify({ texts: [] }),
      JSON.stringify({ texts: [""] }),
      JSON.stringify({ texts: ["x"], more: 1 }),
    ]) {
      const response = await post(bad);
      expect(response.status).toBe(400);
      expect(Problem.parse(await response.json()).status).toBe(400);
    }
    expect((await handler(new Request("http://embedder/nope"))).status).toBe(404);
    expect(await (await handler(new Request("http://embedder/tokenizer"))).text()).toBe(await embedder.tokenizerJson());
  });
});

describe("checking a model folder", () => {
  it("accepts the tiny model and names what is wrong with a broken one", async () => {
    expect((await checkModelFolder(dir)).problems).toEqual([]);
    const broken = await temporaryDir();
    await mkdir(join(broken, "onnx"), { recursive: true });
    await writeFile(join(broken, "config.json"), JSON.stringify({ hidden_size: 768 }));
    await writeFile(join(broken, "tokenizer.json"), JSON.stringify({ model: { type: "BPE" } }));
    const { problems } = await checkModelFolder(broken);
    expect(problems.join("\n")).toMatch(/hidden_size is 768/);
    expect(problems.join("\n")).toMatch(/expected WordPiece/);
    expect(problems.join("\n")).toMatch(/no onnx\/model_quantized.onnx/);
    await expect(loadEmbedder(broken)).rejects.toThrow(/hidden_size/);
  });
});
