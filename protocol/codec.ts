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

export function describeIssues(error: z.ZodError): Issue[] {
  return error.issues.map((issue) => ({
    path: issue.path.map(String).join(".") || "(root)",
    message: issue.message,
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
