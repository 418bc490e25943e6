import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { routePath } from "hono/route";
import { errorText, parseTraceparent, RELEASE, TRACEPARENT } from "../../protocol/index.js";
import { readSettings, type AppEnv, type Env } from "../env.js";
import { BatchingExporter, OtlpHttpExporter } from "./otlp.js";
import { SpanKind, type Span } from "./span.js";
import { Tracer, type SpanExporter } from "./tracer.js";

/** One batching exporter per configuration for the isolate's lifetime, so requests share exports. */
const exporters = new Map<string, SpanExporter>();

/**
 * The collector spans go to: OTLP/HTTP at `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, none (tracing
 * off) when unset; batched for `OTEL_BSP_SCHEDULE_DELAY` ms (default 1000, 0 sends per request).
 */
export function otlpExporter(env: Env): SpanExporter | undefined {
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  if (!endpoint) return undefined;
  const delayMs = nonNegative("OTEL_BSP_SCHEDULE_DELAY", env.OTEL_BSP_SCHEDULE_DELAY, 1000);
  const key = `${endpoint} ${String(delayMs)}`;
  let exporter = exporters.get(key);
  if (!exporter) {
    const resource = {
      "service.name": "x0-control-plane",
      "service.version": RELEASE,
      "deployment.environment.name": readSettings(env).environment,
    };
    exporter = new BatchingExporter(new OtlpHttpExporter(endpoint, resource), delayMs);
    exporters.set(key, exporter);
  }
  return exporter;
}

function nonNegative(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a number ≥ 0, got "${raw}"`);
  return value;
}

function sampleRatio(raw: string | undefined): number {
  const ratio = raw === undefined || raw === "" ? 1 : Number(raw);
  if (!Number.isFinite(ratio) || ratio < 0 || ratio > 1)
    throw new Error(`OTEL_TRACES_SAMPLER_ARG must be a ratio from 0 to 1, got "${String(raw)}"`);
  return ratio;
}

/**
 * A server span for every request, continuing the caller's `traceparent`; handlers add theirs
 * through `c.var.tracer`. Spans leave after the response, in `waitUntil`.
 */
export function traceRequests(exporterOf: (env: Env) => SpanExporter | undefined = otlpExporter) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const tracer = new Tracer(sampleRatio(c.env.OTEL_TRACES_SAMPLER_ARG), exporterOf(c.env));
    const parent = parseTraceparent(c.req.header(TRACEPARENT) ?? "") ?? undefined;
    const span = tracer.startSpan(c.req.method, {
      kind: SpanKind.server,
      parent,
      attributes: { "http.request.method": c.req.method, "url.path": c.req.path },
    });
    c.set("tracer", tracer);
    c.set("requestSpan", span);
    await next();
    const route = routePath(c, -1);
    span.setAttributes({ "http.route": route, "http.response.status_code": c.res.status });
    span.updateName(`${c.req.method} ${route}`);
    span.end(c.res.status >= 500 ? `HTTP ${String(c.res.status)}` : undefined);
    if (tracer.enabled) c.executionCtx.waitUntil(tracer.flush());
  });
}

/** Runs `work` as a child of the request's span, ended (and marked failed on a throw) when it settles. */
export async function inSpan<T>(c: Context<AppEnv>, name: string, work: (span: Span) => Promise<T>): Promise<T> {
  const span = c.var.tracer.startSpan(name, { parent: c.var.requestSpan.context });
  try {
    const result = await work(span);
    span.end();
    return result;
  } catch (error) {
    span.end(errorText(error));
    throw error;
  }
}
