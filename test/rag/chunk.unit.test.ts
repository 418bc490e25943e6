import { describe, expect, it } from "vitest";
import { chunkText } from "../../workers/rag/chunk.js";
import { estimatingTokenizer, wordPieceTokenizer } from "../../workers/rag/wordpiece.js";

const vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "the", "link", "loss", "##es", ".", "#", "step"];
const tokenizer = wordPieceTokenizer(
  JSON.stringify({
    model: { type: "WordPiece", unk_token: "[UNK]", vocab: Object.fromEntries(vocab.map((t, i) => [t, i])) },
  }),
  "test",
);
const OPTIONS = { maxTokens: 512, overlapTokens: 102 };

describe("chunking by the model's tokens", () => {
  it("keeps every chunk within 512 tokens with [CLS] and [SEP], overlapping its neighbour", () => {
    const text = Array.from({ length: 400 }, (_, i) => `Step ${String(i)} the link losses.`).join(" ");
    const chunks = chunkText(text, tokenizer, OPTIONS);
    expect(chunks.length).toBeGreaterThan(2);
    for (const chunk of chunks) {
      expect(chunk.tokens).toBeLessThanOrEqual(512);
      expect(text.slice(chunk.start, chunk.end)).toBe(chunk.text);
    }
    for (let i = 1; i < chunks.length; i++) {
      const overlap = chunks[i - 1]!.end - chunks[i]!.start;
      expect(overlap).toBeGreaterThan(0);
      // Chunks after the first start at a sentence.
      expect(chunks[i]!.text.startsWith("Step")).toBe(true);
    }
    expect(chunks.at(-1)!.end).toBe(text.length);
  });

  it("ends a chunk at a heading when the window's tail has one", () => {
    const body = (n: number) => Array.from({ length: n }, () => "the link loss").join(" ");
    const text = `# One\n\n${body(150)}\n\n# Two\n\n${body(150)}`;
    const chunks = chunkText(text, tokenizer, OPTIONS);
    // The window (510 tokens) reaches past "# Two" (token 453): the first chunk stops before it.
    expect(text.slice(chunks[0]!.end)).toMatch(/^\n\n# Two/);
    expect(chunks[1]!.text).toContain("# Two");
  });

  it("counts an unknown word as one [UNK] and estimates without a vocabulary", () => {
    expect(tokenizer.words("xyzzy losses").map((w) => w.ids)).toEqual([[1], [6, 7]]);
    expect(estimatingTokenizer.words("internationalization").map((w) => w.ids.length)).toEqual([5]);
    expect(chunkText("", tokenizer, OPTIONS)).toEqual([]);
  });
});
