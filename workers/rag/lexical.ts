/** Most terms of one query sent to FTS5: a pasted page must not become a thousand-way OR. */
const MAX_TERMS = 32;

/**
 * User text as an FTS5 query that is only ever terms: each run of letters and digits becomes a
 * quoted string, joined by OR (BM25 ranks documents matching more of them higher). Quotes,
 * NEAR, AND/OR/NOT, `*`, `^`, `-`, `:` and parentheses never reach FTS5 as syntax.
 * Undefined when the text has no term at all.
 */
export function ftsQuery(text: string): string | undefined {
  const terms = [...new Set(text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [])].slice(0, MAX_TERMS);
  return terms.length === 0 ? undefined : terms.map((term) => `"${term}"`).join(" OR ");
}
