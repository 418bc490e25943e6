import type { z } from "zod";

/** Where `sent` holds a field that `read` (the schema's reading of it) dropped: a field the contract does not have. */
function unknownField(sent: unknown, read: unknown, path: string): string | undefined {
  if (Array.isArray(sent) && Array.isArray(read)) {
    return sent.map((item, i) => unknownField(item, read[i], `${path}[${String(i)}]`)).find((p) => p !== undefined);
  }
  if (!isRecord(sent) || !isRecord(read)) return undefined;
  for (const [key, value] of Object.entries(sent)) {
    const at = path ? `${path}.${key}` : key;
    if (!(key in read)) return at;
    const deeper = unknownField(value, read[key], at);
    if (deeper !== undefined) return deeper;
  }
  return undefined;
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null;

/**
 * Writers are exact: what we send must be the schema, nothing more. Readers drop fields they do
 * not know, so a parse alone would not see an extra one; this does, and names it.
 */
export function exactly<S extends z.ZodType>(schema: S, sent: unknown): z.infer<S> {
  const read = schema.parse(sent);
  const extra = unknownField(sent, read, "");
  if (extra !== undefined) throw new Error(`sent a field the contract does not have: ${extra}`);
  return read;
}
