/** Most terms of one query sent to FTS5: a pasted page must not become a thousand-way OR. */
const MAX_TERMS = 32;

/**
 * English function words: in nearly every chunk, they add nothing to BM25's order but make FTS5
 * score every row. A query of only these keeps them.
 */
const STOPWORDS = new Set(
  `a an and are as at be but by can do does for from has have how i if in into is it its of on or
  so than that the their then there these this to was were what when where which who why will with`.split(/\s+/),
);

/**
 * User text as an FTS5 query that is only ever terms: each run of letters and digits becomes a
 * quoted string, joined by OR (BM25 ranks documents matching more of them higher), English
 * function words left out unless nothing else is left. Quotes,
 * NEAR, AND/OR/NOT, `*`, `^`, `-`, `:` and parentheses never reach FTS5 as syntax.
 * Undefined when the text has no term at all.
 */
export function ftsQuery(text: string): string | undefined {
  const words = [...new Set(text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [])];
  const content = words.filter((word) => !STOPWORDS.has(word));
  const terms = (content.length > 0 ? content : words).slice(0, MAX_TERMS);
  return terms.length === 0 ? undefined : terms.map((term) => `"${term}"`).join(" OR ");
}
