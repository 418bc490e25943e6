/** D1 binds at most 100 parameters per statement; multi-row inserts are split to fit. */
export const D1_MAX_PARAMS = 100;

export function chunkRows<T extends object>(rows: readonly T[], columns: number): T[][] {
  const size = Math.max(1, Math.floor(D1_MAX_PARAMS / columns));
  const chunks: T[][] = [];
  for (let i = 0; i < rows.length; i += size) chunks.push(rows.slice(i, i + size));
  return chunks;
}
