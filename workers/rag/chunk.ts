import type { Tokenizer, Word } from "./wordpiece.js";

export interface ChunkOptions {
  /** Tokens per chunk, [CLS] and [SEP] included (the model sees a chunk whole). */
  maxTokens: number;
  overlapTokens: number;
}

export interface TextChunk {
  /** Position in the document, from 0. */
  ordinal: number;
  /** The chunk is text.slice(start, end) of the uploaded document. */
  start: number;
  end: number;
  text: string;
  tokens: number;
}

/** Special tokens the model adds around every chunk ([CLS] … [SEP]). */
const SPECIAL_TOKENS = 2;
/** A boundary is looked for in the window's last share; earlier cuts waste too much of the window. */
const BOUNDARY_SEARCH_SHARE = 0.3;

/**
 * How good a place to end a chunk is the gap before `words[i]`: a Markdown heading starts (3),
 * a paragraph break (2), a sentence ended (1), a mere word gap (0).
 */
function boundaryStrength(text: string, words: readonly Word[], i: number): number {
  const previous = words[i - 1];
  const next = words[i];
  if (!previous || !next) return 3;
  const gap = text.slice(previous.end, next.start);
  const newlines = gap.split("\n").length - 1;
  if (newlines >= 1 && text[next.start] === "#") return 3;
  if (newlines >= 2) return 2;
  if (/^[.!?:;]$/.test(text.slice(previous.start, previous.end)) && gap.length > 0) return 1;
  if (newlines === 1 && /^([-*+]|\d+[.)])$/.test(text.slice(next.start, next.end))) return 1;
  return 0;
}

/** The index after the last word that fits in `budget` tokens from `from`. */
function fitEnd(words: readonly Word[], from: number, budget: number): number {
  let used = 0;
  let i = from;
  while (i < words.length) {
    const cost = words[i]?.ids.length ?? 0;
    if (used + cost > budget) break;
    used += cost;
    i++;
  }
  // A single word longer than the window (WordPiece caps it at one [UNK], the estimate does not) still moves on.
  return i === from ? from + 1 : i;
}

/** The strongest boundary in the window's tail; ties go to the latest, the chunk stays long. */
function bestEnd(text: string, words: readonly Word[], from: number, hardEnd: number, budget: number): number {
  if (hardEnd >= words.length) return words.length;
  let best = hardEnd;
  let bestStrength = boundaryStrength(text, words, hardEnd);
  let tokensBack = 0;
  for (let i = hardEnd - 1; i > from + 1; i--) {
    tokensBack += words[i]?.ids.length ?? 0;
    if (tokensBack > budget * BOUNDARY_SEARCH_SHARE) break;
    const strength = boundaryStrength(text, words, i);
    if (strength > bestStrength) {
      best = i;
      bestStrength = strength;
    }
  }
  return best;
}

/** Where the next chunk starts: `overlap` tokens back from `end`, moved to a boundary inside that overlap. */
function nextStart(text: string, words: readonly Word[], from: number, end: number, overlap: number): number {
  let start = end;
  let back = 0;
  while (start - 1 > from && back + (words[start - 1]?.ids.length ?? 0) <= overlap) {
    start--;
    back += words[start]?.ids.length ?? 0;
  }
  for (let i = start; i < end; i++) if (boundaryStrength(text, words, i) > 0) return i;
  return start;
}

/**
 * Splits a document into windows of at most `maxTokens` tokens of the embedding model, with
 * `overlapTokens` shared between neighbours, ending at a heading, paragraph or sentence boundary
 * where the window's tail has one.
 */
export function chunkText(text: string, tokenizer: Tokenizer, options: ChunkOptions): TextChunk[] {
  const words = tokenizer.words(text);
  const budget = options.maxTokens - SPECIAL_TOKENS;
  const chunks: TextChunk[] = [];
  let from = 0;
  while (from < words.length) {
    const end = bestEnd(text, words, from, fitEnd(words, from, budget), budget);
    const first = words[from];
    const last = words[end - 1];
    if (!first || !last) break;
    const tokens = words.slice(from, end).reduce((sum, w) => sum + w.ids.length, SPECIAL_TOKENS);
    chunks.push({
      ordinal: chunks.length,
      start: first.start,
      end: last.end,
      text: text.slice(first.start, last.end),
      tokens,
    });
    if (end >= words.length) break;
    from = nextStart(text, words, from, end, options.overlapTokens);
  }
  return chunks;
}
