import { z } from "zod";

/** The HTTP header and the MQTT 5 user property that carry W3C Trace Context. */
export const TRACEPARENT = "traceparent";

const TRACEPARENT_PATTERN = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** Where a message's trace continues: version 00 of W3C Trace Context's `traceparent`. */
export const Traceparent = z
  .string()
  .regex(TRACEPARENT_PATTERN)
  .refine((value) => parseTraceparent(value) !== null, "must be a W3C traceparent (00-<trace id>-<span id>-<flags>)");

export interface SpanContext {
  traceId: string;
  spanId: string;
  sampled: boolean;
}

/** null for anything but a valid version-00 traceparent (all-zero ids are invalid). */
export function parseTraceparent(value: string): SpanContext | null {
  const match = TRACEPARENT_PATTERN.exec(value);
  if (!match) return null;
  const [, traceId = "", spanId = "", flags = "00"] = match;
  if (/^0+$/.test(traceId) || /^0+$/.test(spanId)) return null;
  return { traceId, spanId, sampled: (parseInt(flags, 16) & 1) === 1 };
}

export function formatTraceparent(context: SpanContext): string {
  return `00-${context.traceId}-${context.spanId}-${context.sampled ? "01" : "00"}`;
}
