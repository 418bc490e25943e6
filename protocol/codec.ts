import { z } from "zod";
import { errorText } from "./error-text.js";
import { limits } from "./limits.js";

export type DecodeFailure =
  | { ok: false; reason: "too-large"; detail: string }
  | { ok: false; reason: "not-json"; detail: string }
  | { ok: false; reason: "schema"; detail: string; issues: Issue[] };
export type DecodeResult<T> = { ok: true; value: T } | DecodeFailure;
export type DecodeReason = DecodeFailure["reason"];

export interface Issue {
  path: string;
  message: string;
}

/** At most this many issues, each path and message clipped: a hostile body must not make a huge answer. */
const MAX_ISSUES = 20;
const MAX_ISSUE_CHARS = 256;
const clipped = (text: string) => (text.length > MAX_ISSUE_CHARS ? `${text.slice(0, MAX_ISSUE_CHARS - 1)}…` : text);

export function describeIssues(error: z.ZodError): Issue[] {
  return error.issues.slice(0, MAX_ISSUES).map((issue) => ({
    path: clipped(issue.path.map(String).join(".") || "(root)"),
    message: clipped(issue.message),
  }));
}

/** Decodes an MQTT payload: size limit, then JSON, then the schema. Never throws. */
export function decodePayload<S extends z.ZodType>(
  schema: S,
  payload: Uint8Array,
  maxBytes: number = limits.mqttPayloadBytes,
): DecodeResult<z.infer<S>> {
  if (payload.byteLength > maxBytes) {
    return { ok: false, reason: "too-large", detail: `payload is ${payload.byteLength} bytes, limit ${maxBytes}` };
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(payload));
  } catch (error) {
    return { ok: false, reason: "not-json", detail: errorText(error) };
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issues = describeIssues(parsed.error);
    return { ok: false, reason: "schema", detail: issues.map((i) => `${i.path}: ${i.message}`).join("; "), issues };
  }
  return { ok: true, value: parsed.data };
}
