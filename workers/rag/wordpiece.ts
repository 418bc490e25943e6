/**
 * BERT's uncased WordPiece tokenizer (Hugging Face `BertNormalizer` + `BertPreTokenizer` +
 * `WordPiece`), as all-MiniLM-L6-v2 and bge-small-en-v1.5 tokenize: the chunker counts tokens
 * with the embedding model's own vocabulary. Words keep their offsets in the original text so a
 * chunk is always a slice of what was uploaded.
 */

/** One pre-tokenized word (or punctuation mark) of the original text, and its WordPiece ids. */
export interface Word {
  start: number;
  end: number;
  ids: number[];
}

export interface Tokenizer {
  /** Which vocabulary counted the tokens, kept with the document. */
  readonly name: string;
  words(text: string): Word[];
}

interface TokenizerJson {
  model?: { type?: string; vocab?: Record<string, number>; unk_token?: string; max_input_chars_per_word?: number };
  normalizer?: { lowercase?: boolean; strip_accents?: boolean | null };
}

const COMBINING_MARK = /\p{Mn}/u;
const PUNCTUATION = /\p{P}/u;
const WHITESPACE = /\s/u;
const CONTROL = /[\p{Cc}\p{Cf}]/u;

/** BERT counts ASCII symbols such as $ + < = > ^ ` | ~ as punctuation too. */
function isPunctuation(cp: number, char: string): boolean {
  return (
    (cp >= 33 && cp <= 47) ||
    (cp >= 58 && cp <= 64) ||
    (cp >= 91 && cp <= 96) ||
    (cp >= 123 && cp <= 126) ||
    PUNCTUATION.test(char)
  );
}

/** The CJK ideograph blocks BERT splits into single-character words. */
function isCjk(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b820 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

/** BertNormalizer for one character: "" when it is dropped (controls, combining marks once lowercased). */
function normalizeChar(char: string, cp: number, lowercase: boolean, stripAccents: boolean): string {
  if (cp === 0 || cp === 0xfffd) return "";
  if (char === "\t" || char === "\n" || char === "\r") return " ";
  if (CONTROL.test(char)) return "";
  let out = lowercase ? char.toLowerCase() : char;
  if (stripAccents)
    out = Array.from(out.normalize("NFD"))
      .filter((c) => !COMBINING_MARK.test(c))
      .join("");
  return out;
}

type Piece = { text: string; start: number; end: number };

/** Normalizes and splits on whitespace, punctuation and CJK, keeping each word's original offsets. */
function preTokenize(text: string, lowercase: boolean, stripAccents: boolean): Piece[] {
  const pieces: Piece[] = [];
  let current: Piece | undefined;
  const flush = () => {
    if (current && current.text.length > 0) pieces.push(current);
    current = undefined;
  };
  let offset = 0;
  for (const char of text) {
    const start = offset;
    offset += char.length;
    const cp = char.codePointAt(0) ?? 0;
    const normalized = normalizeChar(char, cp, lowercase, stripAccents);
    if (normalized === "") continue;
    if (WHITESPACE.test(normalized)) {
      flush();
      continue;
    }
    if (isPunctuation(cp, char) || isCjk(cp)) {
      flush();
      pieces.push({ text: normalized, start, end: offset });
      continue;
    }
    current ??= { text: "", start, end: start };
    current.text += normalized;
    current.end = offset;
  }
  flush();
  return pieces;
}

// WordPiece works on Unicode code points, which Array.from(string) yields.
const codePoints = (text: string): string[] => Array.from(text);

/** Greedy longest-match-first, as BERT's WordPiece: a word with no full cover is one [UNK]. */
function wordPiece(word: string, vocab: ReadonlyMap<string, number>, unk: number, maxChars: number): number[] {
  const chars = codePoints(word);
  if (chars.length > maxChars) return [unk];
  const ids: number[] = [];
  let start = 0;
  while (start < chars.length) {
    let end = chars.length;
    let found: number | undefined;
    while (start < end) {
      const piece = (start > 0 ? "##" : "") + chars.slice(start, end).join("");
      found = vocab.get(piece);
      if (found !== undefined) break;
      end--;
    }
    if (found === undefined) return [unk];
    ids.push(found);
    start = end;
  }
  return ids;
}

export class TokenizerError extends Error {}

/** A WordPiece tokenizer from a Hugging Face tokenizer.json (the embedder's own). */
export function wordPieceTokenizer(json: string, name: string): Tokenizer {
  const parsed = JSON.parse(json) as TokenizerJson;
  const model = parsed.model;
  if (model?.type !== "WordPiece" || !model.vocab)
    throw new TokenizerError(`tokenizer.json of ${name} is not a WordPiece tokenizer`);
  const vocab = new Map(Object.entries(model.vocab));
  const unk = vocab.get(model.unk_token ?? "[UNK]");
  if (unk === undefined) throw new TokenizerError(`tokenizer.json of ${name} has no unknown token in its vocabulary`);
  const lowercase = parsed.normalizer?.lowercase ?? true;
  // Hugging Face: strip_accents null follows lowercase.
  const stripAccents = parsed.normalizer?.strip_accents ?? lowercase;
  const maxChars = model.max_input_chars_per_word ?? 100;
  return {
    name,
    words: (text) =>
      preTokenize(text, lowercase, stripAccents).map((p) => ({
        start: p.start,
        end: p.end,
        ids: wordPiece(p.text, vocab, unk, maxChars),
      })),
  };
}

/**
 * Without a vocabulary (no embedder configured): BERT's pre-tokenization, each word counted as
 * one token per four characters, about what WordPiece gives English prose; ids are not known.
 */
export const estimatingTokenizer: Tokenizer = {
  name: "estimate",
  words: (text) =>
    preTokenize(text, true, true).map((p) => ({
      start: p.start,
      end: p.end,
      ids: new Array<number>(Math.max(1, Math.ceil(codePoints(p.text).length / 4))).fill(-1),
    })),
};
